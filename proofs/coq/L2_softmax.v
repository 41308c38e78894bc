(** * Lemma L2 (docs/theorem.md#l2): softmax concentration.

    Statements (for all parameters):
    - [l2_weight_identity]: for m real scores and k < m, the softmax weight w_k satisfies
      1/w_k - 1 = sum_{i <> k} e^{s_i - s_k}.
    - [l2_concentration]: if s_k exceeds every other score by at least Delta, then
      w_k >= 1/(1 + (m-1) e^{-Delta}).
    - [l2_hard_instance]: Bob's query C k_i scores C on its own key, at most C eps on the
      other L - 1 cached keys and at most 0 on the T_K zero keys of the last scale (the
      scores are laid out as indices 0..L-1, then L..L+T_K-1); then
      w_i >= 1/(1 + gamma) with gamma = (L-1) e^{-C(1-eps)} + T_K e^{-C}.

    Code: lowerbound.softmax.concentration_weight, lowerbound.softmax.gamma.
    Hypotheses: none. *)

From Coq Require Import Reals Lra Lia.
From KVBound Require Import Sums.
Open Scope R_scope.

(** The softmax weight of index k among the scores s 0, ..., s (m-1). *)
Definition softmax_weight (s : nat -> R) (m k : nat) : R :=
  exp (s k) / rsum (fun i => exp (s i)) m.

(** The mass outside the target relative to the target: sum_{i <> k} e^{s_i - s_k}. *)
Definition others (s : nat -> R) (m k : nat) : R :=
  rsum (fun i => if Nat.eqb i k then 0 else exp (s i - s k)) m.

(** gamma(L, T_K, C, eps) of the reduction (lowerbound.softmax.gamma). *)
Definition gamma (L T : nat) (C eps : R) : R :=
  (INR L - 1) * exp (- (C * (1 - eps))) + INR T * exp (- C).

Lemma others_nonneg (s : nat -> R) (m k : nat) : 0 <= others s m k.
Proof.
  apply rsum_nonneg. intros i _. destruct (Nat.eqb i k); [lra|].
  left. apply exp_pos.
Qed.

Lemma l2_weight_identity (s : nat -> R) (m k : nat) :
  (k < m)%nat -> 1 / softmax_weight s m k - 1 = others s m k.
Proof.
  intros Hk. unfold softmax_weight, others.
  rewrite (rsum_pick (fun i => exp (s i)) m k Hk).
  set (e := exp (s k)). assert (He : 0 < e) by apply exp_pos.
  assert (Hsum : rsum (fun i => if Nat.eqb i k then 0 else exp (s i - s k)) m
                 = / e * rsum (fun i => if Nat.eqb i k then 0 else exp (s i)) m).
  { rewrite <- rsum_scal. apply rsum_ext. intros i _.
    destruct (Nat.eqb i k); [lra|].
    unfold Rminus. rewrite exp_plus, exp_Ropp. fold e. field. lra. }
  rewrite Hsum.
  assert (0 <= rsum (fun i => if Nat.eqb i k then 0 else exp (s i)) m).
  { apply rsum_nonneg. intros i _. destruct (Nat.eqb i k); [lra|]. left; apply exp_pos. }
  field. split; lra.
Qed.

(** The weight is exactly 1/(1 + others). *)
Lemma l2_weight_eq (s : nat -> R) (m k : nat) :
  (k < m)%nat -> softmax_weight s m k = 1 / (1 + others s m k).
Proof.
  intros Hk. pose proof (l2_weight_identity s m k Hk) as H.
  assert (Hw : 0 < softmax_weight s m k).
  { unfold softmax_weight. apply Rdiv_lt_0_compat; [apply exp_pos|].
    rewrite (rsum_pick _ m k Hk). pose proof (exp_pos (s k)).
    assert (0 <= rsum (fun i => if Nat.eqb i k then 0 else exp (s i)) m).
    { apply rsum_nonneg. intros i _. destruct (Nat.eqb i k); [lra|]. left; apply exp_pos. }
    lra. }
  replace (1 + others s m k) with (1 / softmax_weight s m k) by lra.
  field. lra.
Qed.

(** If the others' relative mass is at most g, the target weight is at least 1/(1+g). *)
Lemma l2_weight_from_others (s : nat -> R) (m k : nat) (g : R) :
  (k < m)%nat -> others s m k <= g -> 1 / (1 + g) <= softmax_weight s m k.
Proof.
  intros Hk Hg. rewrite (l2_weight_eq s m k Hk). pose proof (others_nonneg s m k).
  unfold Rdiv. rewrite !Rmult_1_l. apply Rinv_le_contravar; lra.
Qed.

Lemma exp_mono (x y : R) : x <= y -> exp x <= exp y.
Proof.
  intros [H|H]; [left; apply exp_increasing; exact H|right; rewrite H; reflexivity].
Qed.

(** A sum skipping index k whose other n - 1 terms are each at most b is <= (n-1) b. *)
Lemma rsum_skip_le (f : nat -> R) (n k : nat) (b : R) :
  (k < n)%nat -> (forall i, (i < n)%nat -> i <> k -> f i <= b) ->
  rsum (fun i => if Nat.eqb i k then 0 else f i) n <= (INR n - 1) * b.
Proof.
  intros Hk Hb.
  assert (Hc : rsum (fun i => if Nat.eqb i k then 0 else b) n = (INR n - 1) * b).
  { pose proof (rsum_pick (fun _ => b) n k Hk) as P. simpl in P.
    rewrite rsum_const in P. lra. }
  rewrite <- Hc. apply rsum_le. intros i Hi.
  destruct (Nat.eqb_spec i k); [lra|]. apply Hb; assumption.
Qed.

Theorem l2_concentration (s : nat -> R) (m k : nat) (Delta : R) :
  (k < m)%nat ->
  (forall i, (i < m)%nat -> i <> k -> s i <= s k - Delta) ->
  1 / (1 + (INR m - 1) * exp (- Delta)) <= softmax_weight s m k.
Proof.
  intros Hk Hgap. apply l2_weight_from_others; [exact Hk|].
  unfold others. apply rsum_skip_le; [exact Hk|].
  intros i Hi Hne. apply exp_mono. apply Hgap in Hne; [lra|exact Hi].
Qed.

(** ** The hard instance: L Alice tokens (target i < L), then T_K zero keys. *)
Theorem l2_hard_instance (s : nat -> R) (L T i : nat) (C eps : R) :
  (i < L)%nat ->
  s i = C ->
  (forall j, (j < L)%nat -> j <> i -> s j <= C * eps) ->
  (forall j, (L <= j < L + T)%nat -> s j <= 0) ->
  1 / (1 + gamma L T C eps) <= softmax_weight s (L + T) i.
Proof.
  intros Hi Hs Halice Hzero. apply l2_weight_from_others; [lia|].
  unfold others, gamma. rewrite rsum_split.
  apply Rplus_le_compat.
  - apply rsum_skip_le; [exact Hi|]. intros j Hj Hne. apply exp_mono.
    rewrite Hs. specialize (Halice j Hj Hne). lra.
  - rewrite <- rsum_const. apply rsum_le. intros j Hj.
    destruct (Nat.eqb_spec (L + j) i); [lia|]. rewrite Hs.
    apply exp_mono. specialize (Hzero (L + j)%nat ltac:(lia)). lra.
Qed.

(** ** Softmax weights form a probability vector (used by the assembly). *)
Lemma softmax_weight_nonneg (s : nat -> R) (m k : nat) : 0 <= softmax_weight s m k.
Proof.
  unfold softmax_weight.
  assert (0 <= rsum (fun i => exp (s i)) m)
    by (apply rsum_nonneg; intros i _; left; apply exp_pos).
  destruct H as [H|H].
  - left. apply Rdiv_lt_0_compat; [apply exp_pos|exact H].
  - rewrite <- H. unfold Rdiv. rewrite Rinv_0, Rmult_0_r. lra.
Qed.

Lemma softmax_sum_one (s : nat -> R) (m : nat) :
  (0 < m)%nat -> rsum (fun j => softmax_weight s m j) m = 1.
Proof.
  intros Hm. unfold softmax_weight.
  assert (Hpos : 0 < rsum (fun i => exp (s i)) m).
  { rewrite (rsum_pick _ m 0 Hm). pose proof (exp_pos (s 0%nat)).
    assert (0 <= rsum (fun i => if Nat.eqb i 0 then 0 else exp (s i)) m).
    { apply rsum_nonneg. intros i _. destruct (Nat.eqb i 0); [lra|]. left; apply exp_pos. }
    lra. }
  transitivity (/ rsum (fun i => exp (s i)) m * rsum (fun i => exp (s i)) m).
  - rewrite <- rsum_scal. apply rsum_ext. intros i _. unfold Rdiv. apply Rmult_comm.
  - field. lra.
Qed.
