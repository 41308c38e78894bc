(** * The Index bound, counting form (docs/theorem.md#l4): the Hamming ball bound.

    Strings of N bits are lists; [lsum N F] adds F over the 2^N strings of length N. Alice
    maps x to one of at most 2^S messages E(x) < 2^S; Bob outputs the string D(m), and
    [dist x y] counts the positions j < length x where x and y differ (y read with
    [false] past its end). Statements (for all parameters):

    - [ball_center]: every Hamming ball of radius r in {0,1}^N has as many points as the
      ball around 0, [ball N r] (the strings of weight <= r).
    - [index_counting]: if D(E(x)) is within distance r of x for every x, then
      2^N <= 2^S |Ball(N, r)|: the 2^S balls around Bob's outputs cover {0,1}^N.
    - [ball_entropy_bound]: for 0 <= p <= 1/2, |Ball(N, pN)| <= 2^{N H2(p)} (the weights
      p^w (1-p)^{N-w} of the strings sum to 1 and are >= 2^{-N H2(p)} inside the ball).
    - [index_bound]: so a deterministic protocol with at most pN errors on every input,
      0 <= p <= 1/2, has S >= N (1 - H2(p)) -- no o(N) term is needed in this direction.

    Code: lowerbound.bound.index_lower_bound_bits (the bound N (1 - H2(delta))).
    No hypotheses; Coq's real-number axioms only. *)

From Coq Require Import Reals Lra Lia List Bool.
From KVBound Require Import Sums L4_entropy.
Import ListNotations.
Open Scope R_scope.

(** ** Sums over bit strings *)

Fixpoint lsum (n : nat) (F : list bool -> R) : R :=
  match n with
  | O => F []
  | S n => lsum n (fun x => F (true :: x)) + lsum n (fun x => F (false :: x))
  end.

Lemma lsum_ext (n : nat) (F G : list bool -> R) :
  (forall x, length x = n -> F x = G x) -> lsum n F = lsum n G.
Proof.
  revert F G; induction n as [|n IH]; intros F G H; simpl; [apply H; reflexivity|].
  rewrite (IH _ (fun x => G (true :: x))), (IH (fun x => F (false :: x)) (fun x => G (false :: x)));
    [reflexivity| |]; intros x Hx; apply H; simpl; lia.
Qed.

Lemma lsum_le (n : nat) (F G : list bool -> R) :
  (forall x, length x = n -> F x <= G x) -> lsum n F <= lsum n G.
Proof.
  revert F G; induction n as [|n IH]; intros F G H; simpl; [apply H; reflexivity|].
  apply Rplus_le_compat; apply IH; intros x Hx; apply H; simpl; lia.
Qed.

Lemma lsum_const (n : nat) (c : R) : lsum n (fun _ => c) = 2 ^ n * c.
Proof. induction n as [|n IH]; simpl; [ring|]. rewrite IH. ring. Qed.

Lemma lsum_scal (n : nat) (c : R) (F : list bool -> R) :
  lsum n (fun x => c * F x) = c * lsum n F.
Proof.
  revert F; induction n as [|n IH]; intros F; simpl; [ring|].
  rewrite (IH (fun x => F (true :: x))), (IH (fun x => F (false :: x))). ring.
Qed.

(** Exchanging a sum over strings with a sum over m < M. *)
Lemma lsum_rsum (n M : nat) (F : nat -> list bool -> R) :
  lsum n (fun x => rsum (fun m => F m x) M) = rsum (fun m => lsum n (F m)) M.
Proof.
  revert F; induction n as [|n IH]; intros F; simpl; [reflexivity|].
  rewrite (IH (fun m x => F m (true :: x))), (IH (fun m x => F m (false :: x))).
  rewrite <- rsum_plus. reflexivity.
Qed.

(** ** Weight, distance and balls *)

Fixpoint weight (x : list bool) : nat :=
  match x with
  | [] => 0
  | b :: x => (if b then 1 else 0) + weight x
  end.

Definition hd0 (y : list bool) : bool := match y with [] => false | b :: _ => b end.
Definition tl0 (y : list bool) : list bool := match y with [] => [] | _ :: y => y end.

(** The positions j < length x where x and y differ (y padded with false). *)
Fixpoint dist (x y : list bool) : nat :=
  match x with
  | [] => 0
  | b :: x => (if Bool.eqb b (hd0 y) then 0 else 1) + dist x (tl0 y)
  end.

Definition ind_le (a : nat) (r : R) : R := if Rle_dec (INR a) r then 1 else 0.

(** The Hamming ball of radius r around 0 in {0,1}^N, counted. *)
Definition ball (N : nat) (r : R) : R := lsum N (fun x => ind_le (weight x) r).

Lemma ball_center_gen (n a : nat) (c : list bool) (r : R) :
  lsum n (fun x => ind_le (a + dist x c) r) = lsum n (fun x => ind_le (a + weight x) r).
Proof.
  revert a c; induction n as [|n IH]; intros a c; [reflexivity|].
  cbn [lsum].
  assert (Hw : forall k k', k = k' ->
     lsum n (fun x => ind_le (k + weight x) r) = lsum n (fun x => ind_le (k' + weight x) r))
    by (intros k k' ->; reflexivity).
  assert (Ht : forall b, lsum n (fun x => ind_le (a + dist (b :: x) c) r)
                         = lsum n (fun x => ind_le ((a + (if Bool.eqb b (hd0 c) then 0 else 1))
                                                    + weight x) r)).
  { intros b. rewrite <- (IH _ (tl0 c)). apply lsum_ext. intros x _. f_equal. cbn [dist]. lia. }
  rewrite !Ht.
  rewrite (lsum_ext n (fun x => ind_le (a + weight (true :: x)) r)
             (fun x => ind_le ((a + 1) + weight x) r)) by (intros x _; f_equal; cbn [weight]; lia).
  rewrite (lsum_ext n (fun x => ind_le (a + weight (false :: x)) r)
             (fun x => ind_le ((a + 0) + weight x) r)) by (intros x _; f_equal; cbn [weight]; lia).
  destruct (hd0 c); simpl Bool.eqb; cbv iota; ring.
Qed.

Theorem ball_center (N : nat) (c : list bool) (r : R) :
  lsum N (fun x => ind_le (dist x c) r) = ball N r.
Proof. apply (ball_center_gen N 0 c r). Qed.

(** ** The covering count *)

Theorem index_counting (N S : nat) (r : R) (E : list bool -> nat) (D : nat -> list bool) :
  (forall x, length x = N -> (E x < 2 ^ S)%nat /\ INR (dist x (D (E x))) <= r) ->
  2 ^ N <= 2 ^ S * ball N r.
Proof.
  intros H.
  apply Rle_trans with (lsum N (fun x => rsum (fun m => ind_le (dist x (D m)) r) (2 ^ S))).
  - rewrite <- (Rmult_1_r (2 ^ N)), <- lsum_const. apply lsum_le. intros x Hx.
    destruct (H x Hx) as [HE Hd].
    rewrite (rsum_pick _ _ (E x) HE).
    assert (0 <= rsum (fun i => if Nat.eqb i (E x) then 0 else ind_le (dist x (D i)) r) (2 ^ S)).
    { apply rsum_nonneg. intros i _. destruct (Nat.eqb i (E x)); [lra|].
      unfold ind_le. destruct (Rle_dec _ r); lra. }
    unfold ind_le at 1. destruct (Rle_dec _ r); [lra|contradiction].
  - rewrite lsum_rsum.
    rewrite (rsum_ext _ (fun _ => ball N r)) by (intros m _; apply ball_center).
    rewrite rsum_const, pow_INR. simpl INR. replace (1 + 1) with 2 by ring. lra.
Qed.

(** ** The entropy bound on the ball *)

(** The weight p^{#1} (1-p)^{#0} of a string: N independent bits of bias p. *)
Fixpoint pw (p : R) (x : list bool) : R :=
  match x with
  | [] => 1
  | b :: x => (if b then p else 1 - p) * pw p x
  end.

Lemma pw_sum (n : nat) (p : R) : lsum n (pw p) = 1.
Proof.
  induction n as [|n IH]; [reflexivity|]. cbn [lsum pw].
  rewrite !lsum_scal, IH. ring.
Qed.

Lemma pw_nonneg (p : R) (x : list bool) : 0 <= p <= 1 -> 0 <= pw p x.
Proof.
  intros Hp. induction x as [|b x IH]; simpl; [lra|].
  apply Rmult_le_pos; [destruct b; lra|exact IH].
Qed.

Lemma weight_le_length (x : list bool) : (weight x <= length x)%nat.
Proof. induction x as [|b x IH]; simpl; [lia|destruct b; lia]. Qed.

(** For 0 < p < 1: pw p x = exp(w ln p + (n - w) ln (1 - p)). *)
Lemma pw_exp (p : R) (x : list bool) :
  0 < p < 1 ->
  pw p x = exp (INR (weight x) * ln p + (INR (length x) - INR (weight x)) * ln (1 - p)).
Proof.
  intros Hp. induction x as [|b x IH]; simpl pw; simpl weight; simpl length.
  - simpl. replace (0 * ln p + (0 - 0) * ln (1 - p)) with 0 by ring. rewrite exp_0. reflexivity.
  - rewrite IH, S_INR. destruct b; rewrite ?plus_INR; simpl INR.
    + rewrite <- (exp_ln p) at 1 by lra. rewrite <- exp_plus. f_equal. ring.
    + rewrite <- (exp_ln (1 - p)) at 1 by lra. rewrite <- exp_plus. f_equal. ring.
Qed.

Lemma exp_mono_le (x y : R) : x <= y -> exp x <= exp y.
Proof. intros [H|H]; [left; apply exp_increasing; exact H|rewrite H; lra]. Qed.

Lemma exp_le_rev (x y : R) : exp x <= exp y -> x <= y.
Proof.
  intros H. destruct (Rle_dec x y) as [Hl|Hl]; [exact Hl|].
  assert (exp y < exp x) by (apply exp_increasing; lra). lra.
Qed.

(** 2^y for real y. *)
Definition pow2 (y : R) : R := exp (y * ln 2).

(** Inside the ball of radius pN, every string weighs at least 2^{-N H2(p)}. *)
Lemma pw_in_ball (N : nat) (p : R) (x : list bool) :
  0 <= p <= 1 / 2 -> length x = N -> INR (weight x) <= p * INR N ->
  pow2 (- (INR N * H2 p)) <= pw p x.
Proof.
  intros Hp Hx Hw. assert (H2n : 0 < ln 2) by apply ln2_pos.
  destruct (Req_dec p 0) as [->|Hp0].
  - unfold pow2, H2. rewrite Hn_zero. unfold Rdiv. rewrite Rmult_0_l, Rmult_0_r, Ropp_0,
      Rmult_0_l, exp_0.
    assert (Hw0 : weight x = 0%nat) by (apply INR_eq; simpl; pose proof (pos_INR (weight x)); lra).
    clear Hw Hx. induction x as [|b x IH]; simpl; [lra|].
    destruct b; simpl in Hw0; [lia|]. specialize (IH Hw0). lra.
  - assert (Hp' : 0 < p < 1) by lra. rewrite (pw_exp p x Hp'), Hx. unfold pow2.
    apply exp_mono_le.
    unfold H2, Hn. replace (- (INR N * (- (p * ln p + (1 - p) * ln (1 - p)) / ln 2)) * ln 2)
      with (INR N * ln (1 - p) + p * INR N * (ln p - ln (1 - p))) by (field; lra).
    replace (INR (weight x) * ln p + (INR N - INR (weight x)) * ln (1 - p))
      with (INR N * ln (1 - p) + INR (weight x) * (ln p - ln (1 - p))) by ring.
    assert (ln p <= ln (1 - p)) by (apply ln_mono; lra).
    assert ((ln p - ln (1 - p)) * (p * INR N) <= (ln p - ln (1 - p)) * INR (weight x))
      by (apply Rmult_le_compat_neg_l; lra).
    lra.
Qed.

Theorem ball_entropy_bound (N : nat) (p : R) :
  0 <= p <= 1 / 2 -> ball N (p * INR N) <= pow2 (INR N * H2 p).
Proof.
  intros Hp.
  assert (Hpos : 0 < pow2 (- (INR N * H2 p))) by apply exp_pos.
  assert (Hprod : pow2 (INR N * H2 p) * pow2 (- (INR N * H2 p)) = 1).
  { unfold pow2. rewrite <- exp_plus. rewrite <- exp_0. f_equal. ring. }
  assert (Hb : ball N (p * INR N) * pow2 (- (INR N * H2 p)) <= 1).
  { rewrite <- (pw_sum N p). unfold ball.
    rewrite Rmult_comm, <- lsum_scal. apply lsum_le. intros x Hx. unfold ind_le.
    destruct (Rle_dec (INR (weight x)) (p * INR N)) as [Hw|Hw].
    - rewrite Rmult_1_r. apply pw_in_ball; assumption.
    - rewrite Rmult_0_r. apply pw_nonneg. lra. }
  apply Rmult_le_reg_r with (pow2 (- (INR N * H2 p))); [exact Hpos|]. lra.
Qed.

(** ** The bound on S *)

Lemma pow_pow2 (n : nat) : 2 ^ n = pow2 (INR n).
Proof.
  unfold pow2. rewrite <- (exp_ln 2) at 1 by lra.
  induction n as [|n IH]; simpl pow; [simpl; rewrite Rmult_0_l, exp_0; reflexivity|].
  rewrite IH, S_INR, <- exp_plus. f_equal. ring.
Qed.

Theorem index_bound (N S : nat) (p : R) (E : list bool -> nat) (D : nat -> list bool) :
  0 <= p <= 1 / 2 ->
  (forall x, length x = N -> (E x < 2 ^ S)%nat /\ INR (dist x (D (E x))) <= p * INR N) ->
  INR N * (1 - H2 p) <= INR S.
Proof.
  intros Hp H.
  pose proof (index_counting N S (p * INR N) E D H) as Hc.
  pose proof (ball_entropy_bound N p Hp) as Hb.
  assert (Hs : 0 < 2 ^ S) by (apply pow_lt; lra).
  assert (Hcov : pow2 (INR N) <= pow2 (INR S + INR N * H2 p)).
  { rewrite <- pow_pow2.
    replace (pow2 (INR S + INR N * H2 p)) with (pow2 (INR S) * pow2 (INR N * H2 p))
      by (unfold pow2; rewrite <- exp_plus; f_equal; ring).
    rewrite <- pow_pow2.
    apply Rle_trans with (2 ^ S * ball N (p * INR N)); [exact Hc|].
    apply Rmult_le_compat_l; [lra|exact Hb]. }
  unfold pow2 in Hcov. apply exp_le_rev in Hcov.
  assert (INR N <= INR S + INR N * H2 p).
  { apply Rmult_le_reg_r with (ln 2); [apply ln2_pos|exact Hcov]. }
  lra.
Qed.
