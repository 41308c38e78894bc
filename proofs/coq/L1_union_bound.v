(** * Lemma L1 (docs/theorem.md#l1): near-orthogonal sign keys, Hoeffding + union bound.

    Statements (for all parameters):
    - [l1_algebra]: for every L, every eps > 0 and every real d,
      d > 2 ln(L(L-1)/2)/eps^2 implies (L(L-1)/2) e^{-eps^2 d/2} < 1.
    - [l1_algebra_iff]: for L >= 2 that implication is an equivalence, and
      [l1_d_min_least]: d_min = up(2 ln(L(L-1)/2)/eps^2) (Coq's [up x] is the least integer
      strictly above x, i.e. floor(x) + 1, the formula of lowerbound.jl.d_min) meets the
      inequality and no smaller integer does.
    - Section [Hoeffding_union]: [l1_union_bound] (the probability that some pair of the L
      keys has inner product > eps d is at most (L(L-1)/2) e^{-eps^2 d/2}) and
      [l1_good_family_exists] (above d_min some family of L sign vectors in {+-1}^d has
      every pairwise inner product <= eps d).

    Hypotheses (Section Hoeffding_union; the probabilistic step is assumed, not proved):
    - [Pr] : (Family -> Prop) -> R, the probability of an event under uniform random keys,
      with [Pr_mono] (monotone), [Pr_union] (subadditive), [Pr_empty] (Pr False = 0) and
      [Pr_total] (Pr True = 1): the properties of a probability used here;
    - [hoeffding]: for each pair i < j < L, Pr(<sigma_i, sigma_j> > eps d)
      <= e^{-eps^2 d/2} (Hoeffding 1963, for a sum of d independent uniform signs).

    Code: lowerbound.jl.d_min, lowerbound.jl.pair_count, lowerbound.jl.jl_failure_bound,
    reduction.keys.sample_keys. *)

From Coq Require Import Reals Lra Lia Classical.
From KVBound Require Import Sums.
Open Scope R_scope.

(** The number of pairs L(L-1)/2, as a real (lowerbound.jl.pair_count). *)
Definition pairs (L : nat) : R := INR L * (INR L - 1) / 2.

Lemma pairs_nonneg (L : nat) : 0 <= pairs L.
Proof.
  unfold pairs. destruct L as [|L]; [simpl; lra|].
  rewrite S_INR. pose proof (pos_INR L).
  assert (0 <= (INR L + 1) * (INR L + 1 - 1)) by (apply Rmult_le_pos; lra). lra.
Qed.

Lemma pairs_pos (L : nat) : (2 <= L)%nat -> 0 < pairs L.
Proof.
  intros HL. unfold pairs. assert (2 <= INR L) by (apply (le_INR 2); exact HL).
  assert (0 < INR L * (INR L - 1)) by (apply Rmult_lt_0_compat; lra). lra.
Qed.

Lemma pairs_small (L : nat) : (L < 2)%nat -> pairs L = 0.
Proof. intros HL. unfold pairs. destruct L as [|[|L]]; [simpl; lra|simpl; lra|lia]. Qed.

(** For M > 0: M e^{-eps^2 d/2} < 1 iff d > 2 ln M / eps^2. *)
Lemma union_bound_iff (M eps d : R) :
  0 < M -> 0 < eps ->
  M * exp (- (eps ^ 2 * d / 2)) < 1 <-> 2 * ln M / eps ^ 2 < d.
Proof.
  intros HM He. assert (He2 : 0 < eps ^ 2) by (apply pow_lt; exact He).
  assert (Hx : forall x, M * exp (- x) < 1 <-> ln M < x).
  { intros x. rewrite <- (exp_ln M HM) at 1. rewrite <- exp_plus. split; intros H.
    - assert (ln M + - x < 0).
      { apply exp_lt_inv. rewrite exp_0. exact H. }
      lra.
    - rewrite <- exp_0. apply exp_increasing. lra. }
  rewrite Hx. split; intros H.
  - apply Rmult_lt_reg_r with (eps ^ 2 / 2); [lra|].
    replace (2 * ln M / eps ^ 2 * (eps ^ 2 / 2)) with (ln M) by (field; lra). lra.
  - apply Rmult_lt_compat_r with (r := eps ^ 2 / 2) in H; [|lra].
    replace (2 * ln M / eps ^ 2 * (eps ^ 2 / 2)) with (ln M) in H by (field; lra). lra.
Qed.

Theorem l1_algebra (L : nat) (eps d : R) :
  0 < eps -> 2 * ln (pairs L) / eps ^ 2 < d ->
  pairs L * exp (- (eps ^ 2 * d / 2)) < 1.
Proof.
  intros He Hd. destruct (Nat.lt_ge_cases L 2) as [Hs|Hl].
  - rewrite pairs_small by exact Hs. lra.
  - apply union_bound_iff; [apply pairs_pos; exact Hl|exact He|exact Hd].
Qed.

Theorem l1_algebra_iff (L : nat) (eps d : R) :
  (2 <= L)%nat -> 0 < eps ->
  pairs L * exp (- (eps ^ 2 * d / 2)) < 1 <-> 2 * ln (pairs L) / eps ^ 2 < d.
Proof. intros Hl He. apply union_bound_iff; [apply pairs_pos; exact Hl|exact He]. Qed.

(** d_min = up(2 ln(L(L-1)/2)/eps^2) is the least integer dimension meeting L1. *)
Theorem l1_d_min_least (L : nat) (eps : R) :
  (2 <= L)%nat -> 0 < eps ->
  let dmin := up (2 * ln (pairs L) / eps ^ 2) in
  pairs L * exp (- (eps ^ 2 * IZR dmin / 2)) < 1 /\
  (forall d : Z, (d < dmin)%Z -> 1 <= pairs L * exp (- (eps ^ 2 * IZR d / 2))).
Proof.
  intros Hl He dmin.
  destruct (archimed (2 * ln (pairs L) / eps ^ 2)) as [Hup Hup1]. fold dmin in Hup, Hup1.
  split.
  - apply l1_algebra_iff; [exact Hl|exact He|exact Hup].
  - intros d Hd. apply Rnot_lt_le. rewrite (l1_algebra_iff L eps (IZR d) Hl He).
    apply Rle_not_lt.
    assert (IZR d <= IZR dmin - 1).
    { rewrite <- minus_IZR. apply IZR_le. lia. }
    lra.
Qed.

(** ** The probabilistic step, as stated hypotheses *)

(** A key family: [f i k] is the sign of coordinate k of key i (true = +1). *)
Definition Family : Type := nat -> nat -> bool.

Definition sgn (b : bool) : R := if b then 1 else -1.

(** <sigma_i, sigma_j> over the d coordinates; the unit keys are sigma_i / sqrt d. *)
Definition inner (d : nat) (f : Family) (i j : nat) : R :=
  rsum (fun k => sgn (f i k) * sgn (f j k)) d.

Section Hoeffding_union.

  Variables (L d : nat) (eps : R).

  (** Pair (i, j) fails: its inner product exceeds eps d. *)
  Definition bad (f : Family) (i j : nat) : Prop := eps * INR d < inner d f i j.

  Variable Pr : (Family -> Prop) -> R.
  Hypothesis Pr_mono : forall E F : Family -> Prop, (forall f, E f -> F f) -> Pr E <= Pr F.
  Hypothesis Pr_union : forall E F : Family -> Prop, Pr (fun f => E f \/ F f) <= Pr E + Pr F.
  Hypothesis Pr_empty : Pr (fun _ => False) = 0.
  Hypothesis Pr_total : Pr (fun _ => True) = 1.
  Hypothesis hoeffding :
    forall i j, (i < j < L)%nat -> Pr (fun f => bad f i j) <= exp (- (eps ^ 2 * INR d / 2)).

  Let p := exp (- (eps ^ 2 * INR d / 2)).

  (** Some pair among the first n keys fails. *)
  Definition some_bad (n : nat) (f : Family) : Prop :=
    exists i j, (i < j < n)%nat /\ bad f i j.

  (** Key j fails against one of the keys before it, among the first n. *)
  Lemma column_bound (j n : nat) :
    (j < L)%nat -> (n <= j)%nat ->
    Pr (fun f => exists i, (i < n)%nat /\ bad f i j) <= INR n * p.
  Proof.
    intros Hj. induction n as [|n IH]; intros Hn.
    - simpl. rewrite Rmult_0_l, <- Pr_empty. apply Pr_mono.
      intros f [i [Hi _]]. lia.
    - rewrite S_INR.
      apply Rle_trans with
        (Pr (fun f => (exists i, (i < n)%nat /\ bad f i j) \/ bad f n j)).
      + apply Pr_mono. intros f [i [Hi Hb]].
        destruct (Nat.eq_dec i n) as [->|Hne]; [right; exact Hb|].
        left. exists i. split; [lia|exact Hb].
      + eapply Rle_trans; [apply Pr_union|].
        pose proof (IH ltac:(lia)). pose proof (hoeffding n j ltac:(lia)). unfold p in *. lra.
  Qed.

  Lemma prefix_bound (n : nat) :
    (n <= L)%nat -> Pr (some_bad n) <= rsum INR n * p.
  Proof.
    induction n as [|n IH]; intros Hn.
    - simpl. rewrite Rmult_0_l, <- Pr_empty. apply Pr_mono.
      intros f [i [j [Hij _]]]. lia.
    - simpl rsum.
      apply Rle_trans with
        (Pr (fun f => some_bad n f \/ exists i, (i < n)%nat /\ bad f i n)).
      + apply Pr_mono. intros f [i [j [Hij Hb]]].
        destruct (Nat.eq_dec j n) as [->|Hne].
        * right. exists i. split; [lia|exact Hb].
        * left. exists i, j. split; [lia|exact Hb].
      + eapply Rle_trans; [apply Pr_union|].
        pose proof (IH ltac:(lia)). pose proof (column_bound n n ltac:(lia) (le_n n)). lra.
  Qed.

  Theorem l1_union_bound : Pr (some_bad L) <= pairs L * p.
  Proof. unfold pairs. rewrite <- rsum_index. apply prefix_bound. lia. Qed.

  Theorem l1_good_family_exists :
    0 < eps -> 2 * ln (pairs L) / eps ^ 2 < INR d ->
    exists f : Family, forall i j, (i < j < L)%nat -> inner d f i j <= eps * INR d.
  Proof.
    intros He Hd.
    pose proof (l1_algebra L eps (INR d) He Hd) as Hlt. fold p in Hlt.
    apply NNPP. intros Hnone.
    assert (Hall : forall f, some_bad L f).
    { intros f. apply NNPP. intros Hnot. apply Hnone. exists f.
      intros i j Hij. apply Rnot_lt_le. intros Hb. apply Hnot. exists i, j. split; assumption. }
    assert (Pr (fun _ => True) <= Pr (some_bad L)) by (apply Pr_mono; intros f _; apply Hall).
    pose proof l1_union_bound. lra.
  Qed.

End Hoeffding_union.
