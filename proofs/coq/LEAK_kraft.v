(** * The leak certificate is sound (docs/theorem.md#fano): Kraft plus a union bound.

    X is uniform on {0,1}^N (lists of length N; [lsum], [pow2] from INDEX_counting). A code
    of X given Bob's output y is a map x |-> codeword; it is a prefix code if no codeword
    of one input is a prefix of the codeword of another ([prefix_free], which includes
    injectivity). Statements (for all parameters):

    - [kraft]: every prefix code satisfies sum_x 2^{-len(x)} <= 1 (Kraft's inequality,
      proved by counting the strings of a common length each codeword is a prefix of).
    - [kraft_tail]: for any lengths with Kraft sum <= 1 and every real k,
      Pr_X[len(X) < N - k] <= 2^{-k}.
    - [leak_union_bound]: fix the coins. Alice's message mu(x) takes at most M values and
      Bob's output is y = B(mu(x)); fix K prefix codes code_c(. | y) before the run. Then
      Pr_X[exists c < K, len_c(X | B(mu(X))) < N - k] <= K M 2^{-k}.
    - [leak_certificate_sound]: with M <= 2^{S+1} (messages of at most S bits), K >= 1
      codes and 0 < alpha <= 1, the rule "leak if min_c len_c(X | Y) < N - S - 1 - log2 K
      - log2(1/alpha)" raises a false alarm with probability at most alpha, for every
      message and decoder (no independence assumption); averaging over the coins keeps
      the bound.

    Code: the leak rule of docs/theorem.md#fano.
    No hypotheses; Coq's real-number axioms only. *)

From Coq Require Import Reals Lra Lia List Bool.
From KVBound Require Import Sums L4_entropy INDEX_counting.
Import ListNotations.
Open Scope R_scope.

(** ** Sums over strings: two more facts *)

Lemma lsum_plus (n : nat) (F G : list bool -> R) :
  lsum n (fun x => F x + G x) = lsum n F + lsum n G.
Proof.
  revert F G; induction n as [|n IH]; intros F G; simpl; [reflexivity|].
  rewrite (IH (fun x => F (true :: x))), (IH (fun x => F (false :: x))). ring.
Qed.

Lemma lsum_swap (n m : nat) (F : list bool -> list bool -> R) :
  lsum n (fun x => lsum m (F x)) = lsum m (fun s => lsum n (fun x => F x s)).
Proof.
  revert F; induction n as [|n IH]; intros F; simpl; [reflexivity|].
  rewrite (IH (fun x => F (true :: x))), (IH (fun x => F (false :: x))).
  rewrite <- lsum_plus. reflexivity.
Qed.

Definition ind (b : bool) : R := if b then 1 else 0.

Lemma lsum_ind_nonneg (n : nat) (P : list bool -> bool) : 0 <= lsum n (fun x => ind (P x)).
Proof.
  rewrite <- (Rmult_0_r (2 ^ n)), <- lsum_const. apply lsum_le.
  intros x _. unfold ind. destruct (P x); lra.
Qed.

Lemma lsum_ind_witness (n : nat) (P : list bool -> bool) :
  0 < lsum n (fun x => ind (P x)) -> exists x, length x = n /\ P x = true.
Proof.
  revert P; induction n as [|n IH]; intros P H; simpl in H.
  - exists []. split; [reflexivity|]. unfold ind in H. destruct (P []); [reflexivity|lra].
  - destruct (Rlt_le_dec 0 (lsum n (fun x => ind (P (true :: x))))) as [Ht|Ht].
    + destruct (IH (fun x => P (true :: x)) Ht) as [x [Hx Px]].
      exists (true :: x). simpl. split; [lia|exact Px].
    + assert (Hf : 0 < lsum n (fun x => ind (P (false :: x)))) by lra.
      destruct (IH (fun x => P (false :: x)) Hf) as [x [Hx Px]].
      exists (false :: x). simpl. split; [lia|exact Px].
Qed.

(** At most one string satisfies P: the count is at most 1. *)
Lemma lsum_ind_unique (n : nat) (P : list bool -> bool) :
  (forall x x', length x = n -> length x' = n -> P x = true -> P x' = true -> x = x') ->
  lsum n (fun x => ind (P x)) <= 1.
Proof.
  revert P; induction n as [|n IH]; intros P HP; simpl.
  - unfold ind. destruct (P []); lra.
  - assert (Ht : lsum n (fun x => ind (P (true :: x))) <= 1).
    { apply IH. intros x x' Hx Hx' Px Px'.
      assert (E : true :: x = true :: x') by (apply HP; simpl; auto). injection E; auto. }
    assert (Hf : lsum n (fun x => ind (P (false :: x))) <= 1).
    { apply IH. intros x x' Hx Hx' Px Px'.
      assert (E : false :: x = false :: x') by (apply HP; simpl; auto). injection E; auto. }
    pose proof (lsum_ind_nonneg n (fun x => P (true :: x))).
    pose proof (lsum_ind_nonneg n (fun x => P (false :: x))).
    destruct (Rle_lt_dec (lsum n (fun x => ind (P (true :: x)))) 0) as [Z0|Z0]; [lra|].
    destruct (Rle_lt_dec (lsum n (fun x => ind (P (false :: x)))) 0) as [Z1|Z1]; [lra|].
    destruct (lsum_ind_witness n _ Z0) as [x [Hx Px]].
    destruct (lsum_ind_witness n _ Z1) as [x' [Hx' Px']].
    assert (E : true :: x = false :: x') by (apply HP; simpl; auto). discriminate E.
Qed.

(** ** Kraft's inequality *)

Fixpoint is_prefix (u w : list bool) : bool :=
  match u, w with
  | [], _ => true
  | a :: u, b :: w => Bool.eqb a b && is_prefix u w
  | _ :: _, [] => false
  end.

(** A prefix code on {0,1}^N: a codeword that is a prefix of another's is the same input's. *)
Definition prefix_free (N : nat) (code : list bool -> list bool) : Prop :=
  forall x x', length x = N -> length x' = N -> is_prefix (code x) (code x') = true -> x = x'.

(** The number of strings of length K that start with u is 2^{K - |u|}. *)
Lemma count_extensions (K : nat) (u : list bool) :
  (length u <= K)%nat -> lsum K (fun s => ind (is_prefix u s)) = 2 ^ (K - length u).
Proof.
  revert u; induction K as [|K IH]; intros u Hu.
  - destruct u; simpl in *; [reflexivity|lia].
  - destruct u as [|a u].
    + simpl is_prefix. rewrite lsum_const. simpl. ring.
    + simpl in Hu. cbn [lsum is_prefix]. simpl length.
      destruct a; simpl Bool.eqb; cbn [andb].
      * rewrite IH by lia. rewrite (lsum_ext K _ (fun _ => 0)) by reflexivity.
        rewrite lsum_const. simpl (S K - S _)%nat. ring.
      * rewrite IH by lia. rewrite (lsum_ext K (fun s => ind false) (fun _ => 0)) by reflexivity.
        rewrite lsum_const. simpl (S K - S _)%nat. ring.
Qed.

(** The largest of F over the strings of length n. *)
Fixpoint lmax (n : nat) (F : list bool -> nat) : nat :=
  match n with
  | O => F []
  | S n => Nat.max (lmax n (fun x => F (true :: x))) (lmax n (fun x => F (false :: x)))
  end.

Lemma lmax_ge (n : nat) (F : list bool -> nat) (x : list bool) :
  length x = n -> (F x <= lmax n F)%nat.
Proof.
  revert F x; induction n as [|n IH]; intros F x Hx.
  - destruct x; [reflexivity|discriminate].
  - destruct x as [|b x]; [discriminate|]. simpl in Hx. injection Hx as Hx. simpl.
    destruct b.
    + pose proof (IH (fun y => F (true :: y)) x Hx). lia.
    + pose proof (IH (fun y => F (false :: y)) x Hx). lia.
Qed.

Theorem kraft (N : nat) (code : list bool -> list bool) :
  prefix_free N code -> lsum N (fun x => (/ 2) ^ length (code x)) <= 1.
Proof.
  intros Hpf. set (K := lmax N (fun x => length (code x))).
  assert (Hk : forall x, length x = N -> (length (code x) <= K)%nat)
    by (intros x Hx; apply (lmax_ge N (fun y => length (code y)) x Hx)).
  assert (HK : 0 < 2 ^ K) by (apply pow_lt; lra).
  rewrite (lsum_ext N _ (fun x => / 2 ^ K * lsum K (fun s => ind (is_prefix (code x) s)))).
  - rewrite lsum_scal, lsum_swap.
    apply Rmult_le_reg_l with (2 ^ K); [exact HK|].
    rewrite <- Rmult_assoc, Rinv_r, Rmult_1_l, Rmult_1_r by lra.
    rewrite <- (Rmult_1_r (2 ^ K)), <- lsum_const. apply lsum_le. intros s _.
    apply lsum_ind_unique. intros x x' Hx Hx' Px Px'.
    (* two codewords that are both prefixes of s: one is a prefix of the other *)
    assert (Hcmp : forall u v w, is_prefix u w = true -> is_prefix v w = true ->
                   is_prefix u v = true \/ is_prefix v u = true).
    { induction u as [|a u IHu]; intros v w Hu Hv; [left; reflexivity|].
      destruct v as [|b v]; [right; reflexivity|].
      destruct w as [|c w]; [discriminate|]. simpl in *.
      apply andb_true_iff in Hu as [Ha Hu]. apply andb_true_iff in Hv as [Hb Hv].
      apply Bool.eqb_prop in Ha, Hb. subst.
      rewrite Bool.eqb_reflx. simpl. exact (IHu v w Hu Hv). }
    destruct (Hcmp _ _ _ Px Px') as [H|H].
    + apply Hpf; assumption.
    + symmetry. apply Hpf; assumption.
  - intros x Hx. rewrite count_extensions by (apply Hk; exact Hx).
    pose proof (Hk x Hx) as Hl.
    replace K with ((K - length (code x)) + length (code x))%nat at 1 by lia.
    rewrite pow_add, pow_inv. field.
    split; apply pow_nonzero; lra.
Qed.

(** ** The tail bound and the union over messages and codes *)

(** Pr_X[E(X)] for X uniform on {0,1}^N. *)
Definition PrX (N : nat) (E : list bool -> bool) : R := lsum N (fun x => ind (E x)) / 2 ^ N.

Definition short (len : nat) (t : R) : bool := if Rlt_dec (INR len) t then true else false.

Lemma pow2_plus (a b : R) : pow2 (a + b) = pow2 a * pow2 b.
Proof. unfold pow2. rewrite <- exp_plus. f_equal. ring. Qed.

Lemma half_pow2 (n : nat) : (/ 2) ^ n = pow2 (- INR n).
Proof.
  rewrite pow_inv, pow_pow2. unfold pow2. rewrite <- exp_Ropp. f_equal. ring.
Qed.

(** For the indicator of len < t: ind <= 2^t 2^{-len}. *)
Lemma ind_short_le (len : nat) (t : R) : ind (short len t) <= pow2 t * (/ 2) ^ len.
Proof.
  unfold short, ind. rewrite half_pow2, <- pow2_plus.
  destruct (Rlt_dec (INR len) t) as [H|H].
  - unfold pow2. rewrite <- exp_0. left. apply exp_increasing.
    assert (0 < ln 2) by apply ln2_pos. apply Rmult_lt_0_compat; lra.
  - left. apply exp_pos.
Qed.

Theorem kraft_tail (N : nat) (len : list bool -> nat) (k : R) :
  lsum N (fun x => (/ 2) ^ len x) <= 1 ->
  PrX N (fun x => short (len x) (INR N - k)) <= pow2 (- k).
Proof.
  intros Hk. unfold PrX.
  assert (HN : 0 < 2 ^ N) by (apply pow_lt; lra).
  apply Rle_trans with (pow2 (INR N - k) * lsum N (fun x => (/ 2) ^ len x) / 2 ^ N).
  - unfold Rdiv. apply Rmult_le_compat_r; [left; apply Rinv_0_lt_compat; exact HN|].
    rewrite <- lsum_scal. apply lsum_le. intros x _. apply ind_short_le.
  - assert (0 < pow2 (INR N - k)) by apply exp_pos.
    apply Rle_trans with (pow2 (INR N - k) * 1 / 2 ^ N).
    + unfold Rdiv. apply Rmult_le_compat_r; [left; apply Rinv_0_lt_compat; exact HN|].
      apply Rmult_le_compat_l; lra.
    + rewrite pow_pow2, Rmult_1_r. unfold Rdiv.
      replace (INR N - k) with (- k + INR N) by ring. rewrite pow2_plus.
      right. field. apply Rgt_not_eq, exp_pos.
Qed.

(** The alarm: some code c < K gives X a codeword shorter than t, given Bob's output. *)
Definition alarm {Y : Type} (K : nat) (code : nat -> Y -> list bool -> list bool)
  (mu : list bool -> nat) (B : nat -> Y) (t : R) (x : list bool) : bool :=
  existsb (fun c => short (length (code c (B (mu x)) x)) t) (seq 0 K).

Lemma existsb_seq_ind (K : nat) (f : nat -> bool) :
  ind (existsb f (seq 0 K)) <= rsum (fun c => ind (f c)) K.
Proof.
  induction K as [|K IH]; [simpl; lra|].
  rewrite seq_S, existsb_app. simpl rsum. simpl existsb. rewrite orb_false_r.
  pose proof (rsum_nonneg (fun c => ind (f c)) K ltac:(intros; unfold ind; destruct (f i); lra)).
  unfold ind in *. destruct (existsb f (seq 0 K)), (f K); simpl in *; lra.
Qed.

Theorem leak_union_bound {Y : Type} (N K M : nat) (code : nat -> Y -> list bool -> list bool)
  (mu : list bool -> nat) (B : nat -> Y) (k : R) :
  (forall c y, (c < K)%nat -> prefix_free N (code c y)) ->
  (forall x, length x = N -> (mu x < M)%nat) ->
  PrX N (alarm K code mu B (INR N - k)) <= INR K * INR M * pow2 (- k).
Proof.
  intros Hpf Hmu. unfold PrX.
  assert (HN : 0 < 2 ^ N) by (apply pow_lt; lra).
  set (t := INR N - k).
  (* ind(alarm x) <= sum_{c<K} sum_{m<M} ind(len_c(x | B m) < t) *)
  apply Rle_trans with
    (lsum N (fun x => rsum (fun c => rsum (fun m => ind (short (length (code c (B m) x)) t)) M) K)
     / 2 ^ N).
  - unfold Rdiv. apply Rmult_le_compat_r; [left; apply Rinv_0_lt_compat; exact HN|].
    apply lsum_le. intros x Hx. unfold alarm.
    eapply Rle_trans; [apply existsb_seq_ind|]. apply rsum_le. intros c _.
    rewrite (rsum_pick _ M (mu x) (Hmu x Hx)).
    assert (0 <= rsum (fun i => if Nat.eqb i (mu x) then 0
                                else ind (short (length (code c (B i) x)) t)) M).
    { apply rsum_nonneg. intros i _. destruct (Nat.eqb i (mu x)); [lra|].
      unfold ind. destruct (short _ t); lra. }
    lra.
  - rewrite lsum_rsum. unfold Rdiv. rewrite Rmult_comm, <- rsum_scal.
    apply Rle_trans with (rsum (fun _ => INR M * pow2 (- k)) K).
    + apply rsum_le. intros c Hc. rewrite lsum_rsum, <- rsum_scal.
      apply Rle_trans with (rsum (fun _ => pow2 (- k)) M).
      * apply rsum_le. intros m _. rewrite Rmult_comm.
        apply (kraft_tail N (fun x => length (code c (B m) x)) k).
        apply kraft. apply Hpf. exact Hc.
      * rewrite rsum_const. lra.
    + rewrite rsum_const. lra.
Qed.

Definition log2 (y : R) : R := ln y / ln 2.

Theorem leak_certificate_sound {Y : Type} (N S K M : nat)
  (code : nat -> Y -> list bool -> list bool) (mu : list bool -> nat) (B : nat -> Y)
  (alpha : R) :
  (1 <= K)%nat -> 0 < alpha <= 1 -> (M <= 2 ^ (S + 1))%nat ->
  (forall c y, (c < K)%nat -> prefix_free N (code c y)) ->
  (forall x, length x = N -> (mu x < M)%nat) ->
  PrX N (alarm K code mu B (INR N - INR S - 1 - log2 (INR K) - log2 (/ alpha))) <= alpha.
Proof.
  intros HK Ha HM Hpf Hmu.
  set (k := INR S + 1 + log2 (INR K) + log2 (/ alpha)).
  replace (INR N - INR S - 1 - log2 (INR K) - log2 (/ alpha)) with (INR N - k) by (unfold k; ring).
  eapply Rle_trans; [apply (leak_union_bound N K M code mu B k Hpf Hmu)|].
  assert (HKr : 1 <= INR K) by (apply (le_INR 1); exact HK).
  assert (HMr : INR M <= 2 ^ (S + 1)).
  { apply le_INR in HM. rewrite pow_INR in HM. simpl INR in HM.
    replace (1 + 1) with 2 in HM by ring. exact HM. }
  assert (Hl2 : 0 < ln 2) by apply ln2_pos.
  assert (E : INR K * 2 ^ (S + 1) * pow2 (- k) = alpha).
  { unfold k, log2. rewrite ln_Rinv by lra. rewrite pow_pow2. unfold pow2.
    rewrite Rmult_assoc, <- exp_plus.
    replace (INR (S + 1) * ln 2 + - (INR S + 1 + ln (INR K) / ln 2 + - ln alpha / ln 2) * ln 2)
      with (ln alpha - ln (INR K)) by (rewrite plus_INR; simpl INR; field; lra).
    unfold Rminus. rewrite exp_plus, exp_Ropp, !exp_ln by lra. field. lra. }
  rewrite <- E. apply Rmult_le_compat_r; [left; apply exp_pos|].
  apply Rmult_le_compat_l; [lra|exact HMr].
Qed.
