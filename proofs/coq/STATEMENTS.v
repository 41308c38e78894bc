(** * The statements of record: what make coq certifies, pinned against weakening.

    Each [*_statement] below restates, from scratch, a headline theorem of the other files,
    and [*_pinned] proves it by [exact] with that theorem: if a theorem is weakened (a
    premise added, a conclusion dropped, the quantifiers reordered from "exists family,
    for all C" to "for all C, exists family"), this file stops compiling and make coq
    fails. The definitions the statements read are pinned too, by their defining
    equations ([def_*]), so a statement cannot be emptied by redefining its terms.

    Pinned: THM ([thm_main], [thm_reduction_decodes]); L1 ([hoeffding_pair],
    [l1_union_bound], [l1_good_family_at_d_min]) and the uniform measure ([Pr_total],
    [Pr_point]); L4 ([l4_fano_one_bit], [index_counting], [ball_entropy_bound],
    [index_bound]); PREC ([prec_threshold_decoder]); the leak certificate ([kraft],
    [leak_certificate_sound]); the instance d_min(1216, 3/4) = 49 ([cert_d_min_1216]).
    No hypotheses; Coq's real-number axioms only. *)

From Coq Require Import Reals Lra Lia List Bool ZArith.
From KVBound Require Import Sums Rademacher L1_union_bound L2_softmax L3_decoding
  PREC_levels THM_assembly L4_entropy INDEX_counting LEAK_kraft CERT_instances.
Import ListNotations.
Open Scope R_scope.

(** ** The definitions the statements read *)

Lemma def_rsum : forall f n, rsum f 0 = 0 /\ rsum f (S n) = rsum f n + f n.
Proof. split; reflexivity. Qed.

Lemma def_sgn : forall b, sgn b = if b then 1 else -1.
Proof. reflexivity. Qed.

Lemma def_inner : forall d f i j, inner d f i j = rsum (fun k => sgn (f i k) * sgn (f j k)) d.
Proof. reflexivity. Qed.

Lemma def_upd : forall f i k b i' k',
  upd f i k b i' k' = if Nat.eqb i' i && Nat.eqb k' k then b else f i' k'.
Proof. reflexivity. Qed.

Lemma def_vsum : forall i n F g,
  vsum i 0 F g = F g /\
  vsum i (S n) F g = vsum i n F (upd g i n true) + vsum i n F (upd g i n false).
Proof. split; reflexivity. Qed.

Lemma def_ksum : forall d m n F g,
  ksum d m 0 F g = F g /\ ksum d m (S n) F g = vsum m d (ksum d (S m) n F) g.
Proof. split; reflexivity. Qed.

Lemma def_Pr : forall L d E,
  Pr L d E = ksum d 0 L (fun f => if E f then 1 else 0) (fun _ _ => false) / 2 ^ (L * d).
Proof. reflexivity. Qed.

Lemma def_bad : forall d eps f i j,
  bad d eps f i j = if Rlt_dec (eps * INR d) (inner d f i j) then true else false.
Proof. reflexivity. Qed.

Lemma def_some_bad : forall d eps f j n,
  col_bad d eps f j 0 = false /\
  col_bad d eps f j (S n) = col_bad d eps f j n || bad d eps f n j /\
  some_bad d eps f 0 = false /\
  some_bad d eps f (S n) = some_bad d eps f n || col_bad d eps f n n.
Proof. repeat split; reflexivity. Qed.

Lemma def_pairs : forall L, pairs L = INR L * (INR L - 1) / 2.
Proof. reflexivity. Qed.

Lemma def_gamma : forall L T C eps,
  gamma L T C eps = (INR L - 1) * exp (- (C * (1 - eps))) + INR T * exp (- C).
Proof. reflexivity. Qed.

Lemma def_tau : forall g eta, tau g eta = ((1 - eta) + (1 + eta) * g) / (2 * (1 + g)).
Proof. reflexivity. Qed.

Lemma def_output : forall L T d C f x i l,
  output L T d C f x i l =
  rsum (fun j => exp (if Nat.ltb j L then C * inner d f i j / INR d else 0)
                 / rsum (fun j' => exp (if Nat.ltb j' L then C * inner d f i j' / INR d else 0))
                        (L + T)
                 * (if Nat.ltb j L then (if x j l then 1 else 0) else 0)) (L + T).
Proof. reflexivity. Qed.

Lemma def_is_c_min : forall L T eps target S Cm,
  is_c_min L T eps target S Cm <->
  S Cm /\ gamma L T Cm eps < target /\
  forall C, S C -> gamma L T C eps < target -> Cm <= C.
Proof. reflexivity. Qed.

Lemma def_H2 : forall p, H2 p = - (p * ln p + (1 - p) * ln (1 - p)) / ln 2.
Proof. reflexivity. Qed.

Lemma def_fano : forall P g n,
  cond_entropy P n = rsum (fun m => (P true m + P false m) * H2 (P true m / (P true m + P false m))) n
  /\ err_prob P g n = rsum (fun m => P (negb (g m)) m) n.
Proof. split; reflexivity. Qed.

Lemma def_lsum : forall n F,
  lsum 0 F = F [] /\ lsum (S n) F = lsum n (fun x => F (true :: x)) + lsum n (fun x => F (false :: x)).
Proof. split; reflexivity. Qed.

Lemma def_dist : forall b x y,
  weight [] = 0%nat /\ weight (b :: x) = ((if b then 1 else 0) + weight x)%nat /\
  dist [] y = 0%nat /\
  dist (b :: x) y = ((if Bool.eqb b (match y with [] => false | c :: _ => c end) then 0 else 1)
                     + dist x (match y with [] => [] | _ :: y' => y' end))%nat.
Proof. repeat split; reflexivity. Qed.

Lemma def_ball : forall N r,
  ball N r = lsum N (fun x => if Rle_dec (INR (weight x)) r then 1 else 0).
Proof. reflexivity. Qed.

Lemma def_pow2 : forall y, pow2 y = exp (y * ln 2).
Proof. reflexivity. Qed.

Lemma def_decoder : forall N m k gamma eta zhat,
  threshold N m gamma eta =
    ((1 + eta) * ((INR m / INR N + gamma) / (1 + gamma))
     + (1 - eta) * (INR (S m) / INR N / (1 + gamma))) / 2 /\
  count_above N gamma eta zhat 0 = 0%nat /\
  count_above N gamma eta zhat (S k) =
    (count_above N gamma eta zhat k
     + if Rlt_dec (threshold N k gamma eta) zhat then 1 else 0)%nat /\
  decode_level N gamma eta zhat = count_above N gamma eta zhat (N - 1).
Proof. repeat split; reflexivity. Qed.

Lemma def_prefix : forall a b u w N code,
  is_prefix [] w = true /\ is_prefix (a :: u) [] = false /\
  is_prefix (a :: u) (b :: w) = Bool.eqb a b && is_prefix u w /\
  (prefix_free N code <-> forall x x', length x = N -> length x' = N ->
                          is_prefix (code x) (code x') = true -> x = x').
Proof. repeat split; try reflexivity; intros H; exact H. Qed.

Lemma def_leak : forall (Y : Type) N K code mu (B : nat -> Y) t x E len,
  PrX N E = lsum N (fun x => if E x then 1 else 0) / 2 ^ N /\
  short len t = (if Rlt_dec (INR len) t then true else false) /\
  alarm K code mu B t x = existsb (fun c => short (length (code c (B (mu x)) x)) t) (seq 0 K) /\
  log2 t = ln t / ln 2.
Proof. repeat split; reflexivity. Qed.

(** ** THM *)

Definition thm_main_statement : Prop :=
  forall (L T d : nat) (eps eta : R) (S : R -> Prop) (Cm : R),
  (1 <= L)%nat -> 0 < eps <= 1 -> (up (2 * ln (pairs L) / eps ^ 2) <= Z.of_nat d)%Z ->
  0 <= eta < 1 -> (forall C, S C -> 0 < C) ->
  is_c_min L T eps ((1 - eta) / (1 + eta)) S Cm ->
  exists f : Family,
    forall C : R, Cm <= C ->
    forall (x : nat -> nat -> bool) (i l : nat) (zhat : R),
      (i < L)%nat ->
      Rabs (zhat - output L T d C f x i l) <= eta * output L T d C f x i l ->
      (x i l = true -> tau (gamma L T C eps) eta < zhat) /\
      (x i l = false -> zhat < tau (gamma L T C eps) eta).

Theorem thm_main_pinned : thm_main_statement.
Proof. exact thm_main. Qed.

Definition thm_reduction_statement : Prop :=
  forall (L T d : nat) (eps eta : R),
  0 < eps <= 1 -> (up (2 * ln (pairs L) / eps ^ 2) <= Z.of_nat d)%Z -> 0 <= eta < 1 ->
  exists f : Family,
    forall C : R, 0 <= C -> gamma L T C eps < (1 - eta) / (1 + eta) ->
    forall (x : nat -> nat -> bool) (i l : nat) (zhat : R),
      (i < L)%nat ->
      Rabs (zhat - output L T d C f x i l) <= eta * output L T d C f x i l ->
      (x i l = true -> tau (gamma L T C eps) eta < zhat) /\
      (x i l = false -> zhat < tau (gamma L T C eps) eta).

Theorem thm_reduction_pinned : thm_reduction_statement.
Proof. exact thm_reduction_decodes. Qed.

(** ** L1 and the uniform measure *)

Theorem Pr_pinned :
  (forall L d, Pr L d (fun _ => true) = 1) /\
  (forall L d f0, Pr L d (fun f => agree d f0 f 0 L) = / 2 ^ (L * d)).
Proof. split; [exact Pr_total|exact Pr_point]. Qed.

Theorem hoeffding_pinned :
  forall (L d i j : nat) (eps : R), (i < j < L)%nat -> 0 <= eps ->
  Pr L d (fun f => bad d eps f i j) <= exp (- (eps ^ 2 * INR d / 2)).
Proof. exact hoeffding_pair. Qed.

Theorem l1_union_pinned :
  forall (L d : nat) (eps : R), 0 <= eps ->
  Pr L d (fun f => some_bad d eps f L) <= pairs L * exp (- (eps ^ 2 * INR d / 2)).
Proof. exact l1_union_bound. Qed.

Theorem l1_family_pinned :
  forall (L d : nat) (eps : R), 0 < eps -> (up (2 * ln (pairs L) / eps ^ 2) <= Z.of_nat d)%Z ->
  exists f : Family, forall i j, (i < j < L)%nat -> inner d f i j <= eps * INR d.
Proof. exact l1_good_family_at_d_min. Qed.

(** ** L4: Fano for one bit and the counting form of the Index bound *)

Theorem fano_pinned :
  forall (P : bool -> nat -> R) (g : nat -> bool) (n : nat),
  (forall x m, (m < n)%nat -> 0 <= P x m) -> rsum (fun m => P true m + P false m) n = 1 ->
  cond_entropy P n <= H2 (err_prob P g n).
Proof. exact l4_fano_one_bit. Qed.

Theorem index_pinned :
  (forall (N S : nat) (r : R) (E : list bool -> nat) (D : nat -> list bool),
    (forall x, length x = N -> (E x < 2 ^ S)%nat /\ INR (dist x (D (E x))) <= r) ->
    2 ^ N <= 2 ^ S * ball N r) /\
  (forall (N : nat) (p : R), 0 <= p <= 1 / 2 -> ball N (p * INR N) <= pow2 (INR N * H2 p)) /\
  (forall (N S : nat) (p : R) (E : list bool -> nat) (D : nat -> list bool),
    0 <= p <= 1 / 2 ->
    (forall x, length x = N -> (E x < 2 ^ S)%nat /\ INR (dist x (D (E x))) <= p * INR N) ->
    INR N * (1 - H2 p) <= INR S).
Proof. split; [exact index_counting|split; [exact ball_entropy_bound|exact index_bound]]. Qed.

(** ** PREC: Bob's threshold decoder returns the level *)

Theorem prec_decoder_pinned :
  forall (N m : nat) (gamma eta zhat : R),
  (2 <= N)%nat -> 0 <= eta <= 1 -> 0 <= gamma -> (m < N)%nat ->
  (1 + eta) * (INR (N - 2) / INR N + gamma) < (1 - eta) * (INR (S (N - 2)) / INR N) ->
  (1 - eta) * (INR m / INR N / (1 + gamma)) <= zhat <=
    (1 + eta) * ((INR m / INR N + gamma) / (1 + gamma)) ->
  decode_level N gamma eta zhat = m.
Proof.
  intros N m gamma eta zhat HN He Hg Hm Htop Hz.
  exact (prec_threshold_decoder N m gamma eta zhat HN He Hg Hm Htop Hz).
Qed.

(** ** The leak certificate *)

Theorem leak_pinned :
  (forall (N : nat) (code : list bool -> list bool),
    prefix_free N code -> lsum N (fun x => (/ 2) ^ length (code x)) <= 1) /\
  (forall (Y : Type) (N S K M : nat) (code : nat -> Y -> list bool -> list bool)
     (mu : list bool -> nat) (B : nat -> Y) (alpha : R),
    (1 <= K)%nat -> 0 < alpha <= 1 -> (M <= 2 ^ (S + 1))%nat ->
    (forall c y, (c < K)%nat -> prefix_free N (code c y)) ->
    (forall x, length x = N -> (mu x < M)%nat) ->
    PrX N (alarm K code mu B (INR N - INR S - 1 - log2 (INR K) - log2 (/ alpha))) <= alpha).
Proof. split; [exact kraft|exact @leak_certificate_sound]. Qed.

(** ** The theorem's instance *)

Theorem d_min_1216_pinned : up (2 * ln (INR 1216 * (INR 1216 - 1) / 2) / (3 / 4) ^ 2) = 49%Z.
Proof. exact cert_d_min_1216. Qed.
