(** * Precision (docs/theorem.md#prec): 2^b value levels, the multi-level form of L3.

    Alice's values sit on the levels v_m = m / N, m = 0, ..., N - 1 (N = 2^b, so every
    value is in [0, 1) and carries b bits). With target weight w >= 1/(1+gamma):

    - [prec_exact_range]: level m's exact output lies in
      [v_m/(1+gamma), (v_m + gamma)/(1+gamma)].
    - [prec_top_pair_binding]: under relative error eta >= 0 the observed ranges of
      adjacent levels, [(1-eta) lo_m, (1+eta) hi_m], are disjoint for every adjacent
      pair iff they are for the top pair m = N-2, N-1, i.e.
      (1+eta)((N-2)/N + gamma) < (1-eta)(N-1)/N.  The slack of pair (m, m+1) is
      (1-eta)/N - 2 eta m/N - (1+eta) gamma, non-increasing in m.
    - [prec_all_pairs_disjoint] and [prec_decodes]: then the ranges of any two distinct
      levels are disjoint, so the observed value determines the level (injectivity).
    - [prec_threshold_decoder]: Bob's decoder itself returns the level. With the
      thresholds tau_m = ((1+eta)(m/N + gamma) + (1-eta)(m+1)/N)/(2(1+gamma)),
      m = 0, ..., N-2 ([threshold]), an observed value in the range of level m gives
      m-hat = #{m' : zhat > tau_m'} = m ([decode_level]).
    - [prec_top_pair_pow2]: the same with N = 2^b, b >= 1, in the form
      (1+eta)((2^b-2) 2^-b + gamma) < (1-eta)(2^b-1) 2^-b; [prec_gamma_zero]: at
      gamma = 0 it reads eta (2^(b+1) - 3) < 1.

    Code: lowerbound.precision.level_thresholds, reduction.decode.decode_symbols (V = 1).
    Hypotheses: none. *)

From Coq Require Import Reals Lra Lia.
From KVBound Require Import Sums L3_decoding.
Open Scope R_scope.

Definition level (N m : nat) : R := INR m / INR N.
Definition lo (N m : nat) (gamma : R) : R := level N m / (1 + gamma).
Definition hi (N m : nat) (gamma : R) : R := (level N m + gamma) / (1 + gamma).

(** Adjacent levels m, m+1 are told apart under relative error eta. *)
Definition adjacent_separate (N m : nat) (gamma eta : R) : Prop :=
  (1 + eta) * (level N m + gamma) < (1 - eta) * level N (S m).

Theorem prec_exact_range (w v : nat -> R) (n k N m : nat) (gamma : R) :
  (k < n)%nat -> (0 < N)%nat -> (m < N)%nat -> 0 <= gamma ->
  (forall j, (j < n)%nat -> 0 <= w j) ->
  rsum w n = 1 ->
  (forall j, (j < n)%nat -> 0 <= v j <= 1) ->
  v k = level N m ->
  1 / (1 + gamma) <= w k ->
  lo N m gamma <= rsum (fun j => w j * v j) n <= hi N m gamma.
Proof.
  intros Hk HN Hm Hg Hw Hsum Hv Hvk Hwk.
  pose proof (output_bounds w v n k Hk Hw Hsum Hv) as [Hl Hh].
  assert (HNr : 0 < INR N) by (apply lt_0_INR; exact HN).
  assert (Hlev : 0 <= level N m <= 1).
  { unfold level. split.
    - unfold Rdiv. apply Rmult_le_pos; [apply pos_INR|left; apply Rinv_0_lt_compat; exact HNr].
    - apply Rmult_le_reg_r with (INR N); [exact HNr|].
      unfold Rdiv. rewrite Rmult_assoc, Rinv_l by lra. rewrite Rmult_1_r, Rmult_1_l.
      apply le_INR. lia. }
  rewrite Hvk in Hl, Hh. unfold lo, hi. split.
  - (* v/(1+g) <= w v *)
    assert (level N m * (1 / (1 + gamma)) <= level N m * w k)
      by (apply Rmult_le_compat_l; lra).
    replace (level N m / (1 + gamma)) with (level N m * (1 / (1 + gamma))) by (field; lra).
    lra.
  - (* w v + (1 - w) = 1 - w (1 - v) <= 1 - (1 - v)/(1+g) = (v + g)/(1+g) *)
    assert ((1 - level N m) * (1 / (1 + gamma)) <= (1 - level N m) * w k)
      by (apply Rmult_le_compat_l; lra).
    replace ((level N m + gamma) / (1 + gamma))
      with (1 - (1 - level N m) * (1 / (1 + gamma))) by (field; lra).
    lra.
Qed.

(** The observed ranges of m and m+1 are disjoint iff [adjacent_separate]. *)
Lemma adjacent_separate_ranges (N m : nat) (gamma eta : R) :
  0 <= gamma ->
  (1 + eta) * hi N m gamma < (1 - eta) * lo N (S m) gamma <-> adjacent_separate N m gamma eta.
Proof.
  intros Hg. unfold hi, lo, adjacent_separate.
  assert (Hd : 0 < / (1 + gamma)) by (apply Rinv_0_lt_compat; lra).
  unfold Rdiv. rewrite <- !Rmult_assoc. split; intros H.
  - apply Rmult_lt_reg_r with (/ (1 + gamma)); assumption.
  - apply Rmult_lt_compat_r; assumption.
Qed.

(** The slack of pair (m, m+1), times N. *)
Lemma adjacent_slack (N m : nat) (gamma eta : R) :
  (0 < N)%nat ->
  adjacent_separate N m gamma eta <->
  0 < (1 - eta) - 2 * eta * INR m - (1 + eta) * gamma * INR N.
Proof.
  intros HN. assert (HNr : 0 < INR N) by (apply lt_0_INR; exact HN).
  unfold adjacent_separate, level. rewrite S_INR.
  assert (E : (1 - eta) * ((INR m + 1) / INR N) - (1 + eta) * (INR m / INR N + gamma)
              = ((1 - eta) - 2 * eta * INR m - (1 + eta) * gamma * INR N) / INR N)
    by (field; lra).
  set (s := (1 - eta) - 2 * eta * INR m - (1 + eta) * gamma * INR N) in *.
  split; intros H.
  - assert (0 < s / INR N) by lra.
    apply Rmult_lt_reg_r with (/ INR N); [apply Rinv_0_lt_compat; lra|].
    rewrite Rmult_0_l. exact H0.
  - assert (0 < s / INR N) by (apply Rdiv_lt_0_compat; assumption). lra.
Qed.

(** Monotonicity: if pair (m', m'+1) separates and m <= m', so does pair (m, m+1). *)
Lemma adjacent_separate_mono (N m m' : nat) (gamma eta : R) :
  (0 < N)%nat -> 0 <= eta -> (m <= m')%nat ->
  adjacent_separate N m' gamma eta -> adjacent_separate N m gamma eta.
Proof.
  intros HN He Hmm. rewrite !adjacent_slack by exact HN.
  assert (INR m <= INR m') by (apply le_INR; exact Hmm).
  assert (0 <= 2 * eta * (INR m' - INR m)) by (apply Rmult_le_pos; lra).
  lra.
Qed.

Theorem prec_top_pair_binding (N : nat) (gamma eta : R) :
  (2 <= N)%nat -> 0 <= eta ->
  (forall m, (m + 2 <= N)%nat -> adjacent_separate N m gamma eta) <->
  adjacent_separate N (N - 2) gamma eta.
Proof.
  intros HN He. split.
  - intros H. apply H. lia.
  - intros Htop m Hm. apply adjacent_separate_mono with (N - 2)%nat; [lia|exact He|lia|exact Htop].
Qed.

(** The top pair in the form of docs/theorem.md#prec. *)
Lemma top_pair_form (N : nat) (gamma eta : R) :
  (2 <= N)%nat ->
  adjacent_separate N (N - 2) gamma eta <->
  (1 + eta) * ((INR N - 2) / INR N + gamma) < (1 - eta) * ((INR N - 1) / INR N).
Proof.
  intros HN. unfold adjacent_separate, level.
  replace (S (N - 2)) with (N - 1)%nat by lia.
  rewrite !minus_INR by lia. simpl INR. reflexivity.
Qed.

Lemma lo_mono (N m m' : nat) (gamma : R) :
  (0 < N)%nat -> 0 <= gamma -> (m <= m')%nat -> lo N m gamma <= lo N m' gamma.
Proof.
  intros HN Hg Hmm. unfold lo, level.
  assert (0 < INR N) by (apply lt_0_INR; exact HN).
  assert (INR m <= INR m') by (apply le_INR; exact Hmm).
  unfold Rdiv. apply Rmult_le_compat_r; [left; apply Rinv_0_lt_compat; lra|].
  apply Rmult_le_compat_r; [left; apply Rinv_0_lt_compat; lra|]. exact H0.
Qed.

Theorem prec_all_pairs_disjoint (N m m' : nat) (gamma eta : R) :
  (2 <= N)%nat -> 0 <= eta <= 1 -> 0 <= gamma -> (m < m')%nat -> (m' < N)%nat ->
  adjacent_separate N (N - 2) gamma eta ->
  (1 + eta) * hi N m gamma < (1 - eta) * lo N m' gamma.
Proof.
  intros HN He Hg Hmm Hm' Htop.
  assert (Hadj : adjacent_separate N m gamma eta)
    by (apply (proj2 (prec_top_pair_binding N gamma eta HN (proj1 He)) Htop); lia).
  apply adjacent_separate_ranges in Hadj; [|exact Hg].
  assert (lo N (S m) gamma <= lo N m' gamma) by (apply lo_mono; [lia|exact Hg|lia]).
  assert ((1 - eta) * lo N (S m) gamma <= (1 - eta) * lo N m' gamma)
    by (apply Rmult_le_compat_l; lra).
  lra.
Qed.

(** Bob reads the level: an observed value inside the ranges of m and m' forces m = m'. *)
Theorem prec_decodes (N m m' : nat) (gamma eta zhat : R) :
  (2 <= N)%nat -> 0 <= eta <= 1 -> 0 <= gamma -> (m < N)%nat -> (m' < N)%nat ->
  adjacent_separate N (N - 2) gamma eta ->
  (1 - eta) * lo N m gamma <= zhat <= (1 + eta) * hi N m gamma ->
  (1 - eta) * lo N m' gamma <= zhat <= (1 + eta) * hi N m' gamma ->
  m = m'.
Proof.
  intros HN He Hg Hm Hm' Htop Hz Hz'.
  destruct (Nat.lt_trichotomy m m') as [Hlt|[Heq|Hgt]]; [|exact Heq|].
  - pose proof (prec_all_pairs_disjoint N m m' gamma eta HN He Hg Hlt Hm' Htop). lra.
  - pose proof (prec_all_pairs_disjoint N m' m gamma eta HN He Hg Hgt Hm Htop). lra.
Qed.

(** ** With N = 2^b levels *)

Theorem prec_top_pair_pow2 (b : nat) (gamma eta : R) :
  (1 <= b)%nat -> 0 <= eta ->
  (forall m, (m + 2 <= 2 ^ b)%nat -> adjacent_separate (2 ^ b) m gamma eta) <->
  (1 + eta) * ((2 ^ b - 2) * / 2 ^ b + gamma) < (1 - eta) * ((2 ^ b - 1) * / 2 ^ b).
Proof.
  intros Hb He.
  assert (HN : (2 <= 2 ^ b)%nat).
  { replace 2%nat with (2 ^ 1)%nat at 1 by reflexivity. apply Nat.pow_le_mono_r; lia. }
  rewrite (prec_top_pair_binding (2 ^ b) gamma eta HN He), top_pair_form by exact HN.
  rewrite pow_INR. simpl INR. replace (1 + 1) with 2 by lra. reflexivity.
Qed.

Theorem prec_gamma_zero (b : nat) (eta : R) :
  (1 <= b)%nat ->
  (1 + eta) * ((2 ^ b - 2) * / 2 ^ b + 0) < (1 - eta) * ((2 ^ b - 1) * / 2 ^ b) <->
  eta * (2 ^ (S b) - 3) < 1.
Proof.
  intros Hb. assert (Hp : 0 < 2 ^ b) by (apply pow_lt; lra).
  change (2 ^ S b) with (2 * 2 ^ b).
  assert (E : (1 - eta) * ((2 ^ b - 1) * / 2 ^ b) - (1 + eta) * ((2 ^ b - 2) * / 2 ^ b + 0)
              = (1 - eta * (2 * 2 ^ b - 3)) * / 2 ^ b) by (field; lra).
  assert (Hi : 0 < / 2 ^ b) by (apply Rinv_0_lt_compat; exact Hp).
  split; intros H.
  - assert (0 < (1 - eta * (2 * 2 ^ b - 3)) * / 2 ^ b) by lra.
    assert (0 < 1 - eta * (2 * 2 ^ b - 3)).
    { apply Rmult_lt_reg_r with (/ 2 ^ b); [exact Hi|]. lra. }
    lra.
  - assert (0 < (1 - eta * (2 * 2 ^ b - 3)) * / 2 ^ b) by (apply Rmult_lt_0_compat; lra).
    lra.
Qed.

(** ** Bob's threshold decoder *)

(** The threshold between levels m and m+1: the midpoint of the top of the observed range
    of m and the bottom of that of m+1,
    tau_m = ((1+eta)(m/N + gamma) + (1-eta)(m+1)/N) / (2(1+gamma)). *)
Definition threshold (N m : nat) (gamma eta : R) : R :=
  ((1 + eta) * hi N m gamma + (1 - eta) * lo N (S m) gamma) / 2.

(** #{m' < k : tau_{m'} < zhat}. *)
Fixpoint count_above (N : nat) (gamma eta zhat : R) (k : nat) : nat :=
  match k with
  | O => O
  | S k => (count_above N gamma eta zhat k
            + if Rlt_dec (threshold N k gamma eta) zhat then 1 else 0)%nat
  end.

(** Bob's decoded level m-hat = #{m' : zhat > tau_{m'}} over the N - 1 thresholds. *)
Definition decode_level (N : nat) (gamma eta zhat : R) : nat :=
  count_above N gamma eta zhat (N - 1).

Lemma hi_mono (N m m' : nat) (gamma : R) :
  (0 < N)%nat -> 0 <= gamma -> (m <= m')%nat -> hi N m gamma <= hi N m' gamma.
Proof.
  intros HN Hg Hmm. unfold hi, level.
  assert (0 < INR N) by (apply lt_0_INR; exact HN).
  assert (INR m <= INR m') by (apply le_INR; exact Hmm).
  assert (INR m / INR N <= INR m' / INR N).
  { unfold Rdiv. apply Rmult_le_compat_r; [left; apply Rinv_0_lt_compat; lra|exact H0]. }
  unfold Rdiv at 1 3. apply Rmult_le_compat_r; [left; apply Rinv_0_lt_compat; lra|lra].
Qed.

Theorem prec_threshold_decoder (N m : nat) (gamma eta zhat : R) :
  (2 <= N)%nat -> 0 <= eta <= 1 -> 0 <= gamma -> (m < N)%nat ->
  adjacent_separate N (N - 2) gamma eta ->
  (1 - eta) * lo N m gamma <= zhat <= (1 + eta) * hi N m gamma ->
  decode_level N gamma eta zhat = m.
Proof.
  intros HN He Hg Hm Htop Hz.
  assert (Hadj : forall m', (m' + 2 <= N)%nat ->
                 (1 + eta) * hi N m' gamma < (1 - eta) * lo N (S m') gamma).
  { intros m' Hm'. apply adjacent_separate_ranges; [exact Hg|].
    apply (proj2 (prec_top_pair_binding N gamma eta HN (proj1 He)) Htop). exact Hm'. }
  assert (Hbelow : forall m', (m' < m)%nat -> threshold N m' gamma eta < zhat).
  { intros m' Hm'. pose proof (Hadj m' ltac:(lia)).
    assert (lo N (S m') gamma <= lo N m gamma) by (apply lo_mono; [lia|exact Hg|lia]).
    assert ((1 - eta) * lo N (S m') gamma <= (1 - eta) * lo N m gamma)
      by (apply Rmult_le_compat_l; lra).
    unfold threshold. lra. }
  assert (Habove : forall m', (m <= m')%nat -> (m' + 2 <= N)%nat ->
                   ~ threshold N m' gamma eta < zhat).
  { intros m' Hm' HmN. pose proof (Hadj m' HmN).
    assert (hi N m gamma <= hi N m' gamma) by (apply hi_mono; [lia|exact Hg|exact Hm']).
    assert ((1 + eta) * hi N m gamma <= (1 + eta) * hi N m' gamma)
      by (apply Rmult_le_compat_l; lra).
    unfold threshold. lra. }
  assert (Hcount : forall k, (k <= N - 1)%nat ->
                   count_above N gamma eta zhat k = Nat.min k m).
  { induction k as [|k IH]; intros Hk; [reflexivity|]. simpl count_above.
    rewrite IH by lia.
    destruct (Rlt_dec (threshold N k gamma eta) zhat) as [Hlt|Hge].
    - destruct (Nat.lt_ge_cases k m) as [Hkm|Hkm]; [lia|].
      exfalso. apply (Habove k Hkm ltac:(lia)). exact Hlt.
    - destruct (Nat.lt_ge_cases k m) as [Hkm|Hkm]; [|lia].
      exfalso. apply Hge. apply Hbelow. exact Hkm. }
  unfold decode_level. rewrite Hcount by lia. lia.
Qed.
