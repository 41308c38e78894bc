(** * Lemma L1 (docs/theorem.md#l1): near-orthogonal sign keys, Hoeffding + union bound.

    Statements (for all parameters; [Pr L d] is the uniform measure on families of L sign
    vectors in {+-1}^d, a finite sum, and [bad d eps f i j] the event
    <sigma_i, sigma_j> > eps d, both from [Rademacher]):
    - [l1_algebra]: for every L, every eps > 0 and every real d,
      d > 2 ln(L(L-1)/2)/eps^2 implies (L(L-1)/2) e^{-eps^2 d/2} < 1.
    - [l1_algebra_iff]: for L >= 2 that implication is an equivalence, and
      [l1_d_min_least]: d_min = up(2 ln(L(L-1)/2)/eps^2) (Coq's [up x] is the least integer
      strictly above x, i.e. floor(x) + 1, the formula of lowerbound.jl.d_min) meets the
      inequality and no smaller integer does.
    - [l1_union_bound]: for eps >= 0, Pr(some pair i < j < L has <sigma_i, sigma_j> > eps d)
      <= (L(L-1)/2) e^{-eps^2 d/2}: the union over the pairs of Hoeffding's bound
      ([Rademacher.hoeffding_pair], proved).
    - [l1_good_family_exists], [l1_good_family_at_d_min]: for eps > 0 and
      d > 2 ln(L(L-1)/2)/eps^2 (equivalently the integer d >= d_min) some family of L sign
      vectors in {+-1}^d has every pairwise inner product <= eps d.

    Code: lowerbound.jl.d_min, lowerbound.jl.pair_count, lowerbound.jl.jl_failure_bound,
    reduction.keys.sample_keys.
    No hypotheses; Coq's real-number axioms only. *)

From Coq Require Import Reals Lra Lia Bool Classical.
From KVBound Require Import Sums Rademacher.
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

(** ** The union bound over pairs, under the uniform measure of [Rademacher] *)

(** Key j fails against one of the keys 0, ..., n-1. *)
Fixpoint col_bad (d : nat) (eps : R) (f : Family) (j n : nat) : bool :=
  match n with
  | O => false
  | S n => col_bad d eps f j n || bad d eps f n j
  end.

(** Some pair i < j < n fails. *)
Fixpoint some_bad (d : nat) (eps : R) (f : Family) (n : nat) : bool :=
  match n with
  | O => false
  | S n => some_bad d eps f n || col_bad d eps f n n
  end.

Lemma col_bad_false (d : nat) (eps : R) (f : Family) (j n : nat) :
  col_bad d eps f j n = false -> forall i, (i < n)%nat -> inner d f i j <= eps * INR d.
Proof.
  induction n as [|n IH]; simpl; intros H i Hi; [lia|].
  apply Bool.orb_false_iff in H as [H1 H2].
  destruct (Nat.eq_dec i n) as [->|Hne]; [|apply IH; [exact H1|lia]].
  unfold bad in H2. destruct (Rlt_dec (eps * INR d) (inner d f n j)); [discriminate|lra].
Qed.

Theorem some_bad_false (d : nat) (eps : R) (f : Family) (n : nat) :
  some_bad d eps f n = false -> forall i j, (i < j < n)%nat -> inner d f i j <= eps * INR d.
Proof.
  induction n as [|n IH]; simpl; intros H i j Hij; [lia|].
  apply Bool.orb_false_iff in H as [H1 H2].
  destruct (Nat.eq_dec j n) as [->|Hne].
  - apply (col_bad_false d eps f n n H2). lia.
  - apply IH; [exact H1|lia].
Qed.

Lemma column_bound (L d : nat) (eps : R) (j n : nat) :
  (j < L)%nat -> (n <= j)%nat -> 0 <= eps ->
  Pr L d (fun f => col_bad d eps f j n) <= INR n * exp (- (eps ^ 2 * INR d / 2)).
Proof.
  intros Hj Hn He. induction n as [|n IH].
  - simpl. rewrite Rmult_0_l, Pr_false. lra.
  - rewrite S_INR. simpl col_bad.
    eapply Rle_trans; [apply Pr_union|].
    pose proof (IH ltac:(lia)). pose proof (hoeffding_pair L d n j eps ltac:(lia) He). lra.
Qed.

Lemma prefix_bound (L d : nat) (eps : R) (n : nat) :
  (n <= L)%nat -> 0 <= eps ->
  Pr L d (fun f => some_bad d eps f n) <= rsum INR n * exp (- (eps ^ 2 * INR d / 2)).
Proof.
  intros Hn He. induction n as [|n IH].
  - simpl. rewrite Rmult_0_l, Pr_false. lra.
  - simpl rsum. simpl some_bad.
    eapply Rle_trans; [apply Pr_union|].
    pose proof (IH ltac:(lia)). pose proof (column_bound L d eps n n ltac:(lia) (le_n n) He).
    lra.
Qed.

(** The union bound: Pr(some pair of the L keys has <sigma_i, sigma_j> > eps d)
    <= L(L-1)/2 e^{-eps^2 d/2}, under the uniform measure on families. *)
Theorem l1_union_bound (L d : nat) (eps : R) :
  0 <= eps ->
  Pr L d (fun f => some_bad d eps f L) <= pairs L * exp (- (eps ^ 2 * INR d / 2)).
Proof. intros He. unfold pairs. rewrite <- rsum_index. apply prefix_bound; [lia|exact He]. Qed.

(** Above the L1 bound some family of L sign vectors is eps-orthogonal. *)
Theorem l1_good_family_exists (L d : nat) (eps : R) :
  0 < eps -> 2 * ln (pairs L) / eps ^ 2 < INR d ->
  exists f : Family, forall i j, (i < j < L)%nat -> inner d f i j <= eps * INR d.
Proof.
  intros He Hd.
  pose proof (l1_algebra L eps (INR d) He Hd) as Hlt.
  pose proof (l1_union_bound L d eps ltac:(lra)) as Hu.
  destruct (Classical_Prop.classic (exists f, some_bad d eps f L = false)) as [[f Hf]|Hnone].
  - exists f. apply some_bad_false. exact Hf.
  - assert (Hall : forall f, some_bad d eps f L = true).
    { intros f. destruct (some_bad d eps f L) eqn:E; [reflexivity|].
      exfalso. apply Hnone. exists f. exact E. }
    rewrite (Pr_ext L d _ (fun _ => true) Hall), Pr_total in Hu. lra.
Qed.

(** The same with d >= d_min = up(2 ln(L(L-1)/2)/eps^2), the integer form of the code. *)
Theorem l1_good_family_at_d_min (L d : nat) (eps : R) :
  0 < eps -> (up (2 * ln (pairs L) / eps ^ 2) <= Z.of_nat d)%Z ->
  exists f : Family, forall i j, (i < j < L)%nat -> inner d f i j <= eps * INR d.
Proof.
  intros He Hd. apply l1_good_family_exists; [exact He|].
  destruct (archimed (2 * ln (pairs L) / eps ^ 2)) as [Hup _].
  apply IZR_le in Hd. rewrite <- INR_IZR_INZ in Hd. lra.
Qed.
