(** * Lemma L3 (docs/theorem.md#l3): Bob's threshold decoding.

    Statements (for all parameters):
    - [l3_exact_ranges]: an attention output coordinate Z = sum_j w_j v_j with weights
      w_j >= 0 summing to 1, values v_j in [0, 1] and target weight w_k >= 1/(1+gamma)
      lies in [1/(1+gamma), 1] when v_k = 1 and in [0, gamma/(1+gamma)] when v_k = 0.
    - [l3_separation_iff]: (1+eta) gamma/(1+gamma) < (1-eta)/(1+gamma) iff
      gamma < (1-eta)/(1+eta).
    - [l3_tau_separates]: for 0 <= eta < 1 and 0 <= gamma < (1-eta)/(1+eta), the threshold
      tau = ((1-eta) + (1+eta) gamma)/(2(1+gamma)) lies strictly between
      (1+eta) gamma/(1+gamma) and (1-eta)/(1+gamma).
    - [l3_decodes_relative]: so every coordinate read with entrywise relative error eta
      (|zhat - Z| <= eta Z) decodes correctly: zhat > tau iff the hidden bit is 1.
    - Additive error eta (|zhat - Z| <= eta): [l3_additive_iff] shows
      1/(1+gamma) - eta > gamma/(1+gamma) + eta iff gamma < (1-2eta)/(1+2eta)
      (lowerbound.softmax.gamma_target, additive), [l3_additive_half_separates] that the
      threshold 1/2 (lowerbound.decoding.tau, additive) then lies strictly between the
      ranges, and [l3_decodes_additive] that every coordinate decodes.

    Code: lowerbound.decoding.tau, lowerbound.decoding.separates,
    lowerbound.softmax.gamma_target, reduction.decode.decode_bits.
    Hypotheses: none. *)

From Coq Require Import Reals Lra Lia.
From KVBound Require Import Sums.
Open Scope R_scope.

Definition zero_top (gamma eta : R) : R := (1 + eta) * gamma / (1 + gamma).
Definition one_bottom (gamma eta : R) : R := (1 - eta) / (1 + gamma).
Definition tau (gamma eta : R) : R := ((1 - eta) + (1 + eta) * gamma) / (2 * (1 + gamma)).

(** The value of a hidden bit. *)
Definition bitval (x : bool) : R := if x then 1 else 0.

Lemma abs_between (x b : R) : Rabs x <= b -> - b <= x <= b.
Proof.
  intros H. pose proof (Rle_abs x). pose proof (Rle_abs (- x)).
  rewrite Rabs_Ropp in *. lra.
Qed.

(** ** The exact output coordinate *)

(** Z = sum_j w_j v_j is at least w_k v_k and at most w_k v_k + (1 - w_k). *)
Lemma output_bounds (w v : nat -> R) (m k : nat) :
  (k < m)%nat ->
  (forall j, (j < m)%nat -> 0 <= w j) ->
  rsum w m = 1 ->
  (forall j, (j < m)%nat -> 0 <= v j <= 1) ->
  w k * v k <= rsum (fun j => w j * v j) m <= w k * v k + (1 - w k).
Proof.
  intros Hk Hw Hsum Hv.
  rewrite (rsum_pick (fun j => w j * v j) m k Hk).
  pose proof (rsum_pick w m k Hk) as Pw. rewrite Hsum in Pw.
  set (rest := rsum (fun i => if Nat.eqb i k then 0 else w i * v i) m).
  assert (0 <= rest).
  { apply rsum_nonneg. intros i Hi. destruct (Nat.eqb i k); [lra|].
    apply Rmult_le_pos; [apply Hw|apply Hv]; exact Hi. }
  assert (rest <= rsum (fun i => if Nat.eqb i k then 0 else w i) m).
  { apply rsum_le. intros i Hi. destruct (Nat.eqb i k); [lra|].
    specialize (Hw i Hi). specialize (Hv i Hi).
    rewrite <- (Rmult_1_r (w i)) at 2. apply Rmult_le_compat_l; lra. }
  lra.
Qed.

Theorem l3_exact_ranges (w v : nat -> R) (m k : nat) (gamma : R) (x : bool) :
  (k < m)%nat -> 0 <= gamma ->
  (forall j, (j < m)%nat -> 0 <= w j) ->
  rsum w m = 1 ->
  (forall j, (j < m)%nat -> 0 <= v j <= 1) ->
  v k = bitval x ->
  1 / (1 + gamma) <= w k ->
  let Z := rsum (fun j => w j * v j) m in
  0 <= Z /\
  (x = true -> 1 / (1 + gamma) <= Z) /\
  (x = false -> Z <= gamma / (1 + gamma)).
Proof.
  intros Hk Hg Hw Hsum Hv Hx Hwk Z.
  pose proof (output_bounds w v m k Hk Hw Hsum Hv) as [Hlo Hhi]. fold Z in Hlo, Hhi.
  assert (Hwk0 : 0 <= w k) by (apply Hw; exact Hk).
  assert (Hvk := Hv k Hk).
  split; [|split].
  - pose proof (Rmult_le_pos _ _ Hwk0 (proj1 Hvk)). lra.
  - intros ->. simpl in Hx. rewrite Hx in Hlo. lra.
  - intros ->. simpl in Hx. rewrite Hx in Hhi.
    replace (gamma / (1 + gamma)) with (1 - 1 / (1 + gamma)) by (field; lra). lra.
Qed.

(** ** Relative error *)

Theorem l3_separation_iff (gamma eta : R) :
  0 <= gamma -> -1 < eta ->
  zero_top gamma eta < one_bottom gamma eta <-> gamma < (1 - eta) / (1 + eta).
Proof.
  intros Hg He. unfold zero_top, one_bottom.
  assert (Hd : 0 < 1 + gamma) by lra.
  assert (He' : 0 < 1 + eta) by lra.
  unfold Rdiv. split; intros H.
  - apply Rmult_lt_reg_r with (1 + eta); [exact He'|].
    rewrite Rmult_assoc, Rinv_l by lra. rewrite Rmult_1_r.
    apply Rmult_lt_reg_r with (/ (1 + gamma)); [apply Rinv_0_lt_compat; lra|].
    lra.
  - apply Rmult_lt_compat_r; [apply Rinv_0_lt_compat; lra|].
    apply Rmult_lt_compat_r with (r := 1 + eta) in H; [|exact He'].
    rewrite Rmult_assoc, Rinv_l in H by lra. lra.
Qed.

Theorem l3_tau_separates (gamma eta : R) :
  0 <= eta < 1 -> 0 <= gamma -> gamma < (1 - eta) / (1 + eta) ->
  zero_top gamma eta < tau gamma eta < one_bottom gamma eta.
Proof.
  intros He Hg Hlt.
  assert (Hsep : zero_top gamma eta < one_bottom gamma eta)
    by (apply l3_separation_iff; lra).
  (* tau is the midpoint of zero_top and one_bottom *)
  assert (Hmid : tau gamma eta = (zero_top gamma eta + one_bottom gamma eta) / 2).
  { unfold tau, zero_top, one_bottom. field. lra. }
  rewrite Hmid. lra.
Qed.

Theorem l3_decodes_relative (w v : nat -> R) (m k : nat) (gamma eta zhat : R) (x : bool) :
  (k < m)%nat -> 0 <= eta < 1 -> 0 <= gamma -> gamma < (1 - eta) / (1 + eta) ->
  (forall j, (j < m)%nat -> 0 <= w j) ->
  rsum w m = 1 ->
  (forall j, (j < m)%nat -> 0 <= v j <= 1) ->
  v k = bitval x ->
  1 / (1 + gamma) <= w k ->
  Rabs (zhat - rsum (fun j => w j * v j) m) <= eta * rsum (fun j => w j * v j) m ->
  (x = true -> tau gamma eta < zhat) /\ (x = false -> zhat < tau gamma eta).
Proof.
  intros Hk He Hg Hlt Hw Hsum Hv Hx Hwk Herr.
  destruct (l3_exact_ranges w v m k gamma x Hk Hg Hw Hsum Hv Hx Hwk) as [HZ [H1 H0]].
  set (Z := rsum (fun j => w j * v j) m) in *.
  destruct (l3_tau_separates gamma eta He Hg Hlt) as [Hzt Hob].
  apply abs_between in Herr.
  unfold zero_top, one_bottom in *. split.
  - intros Hx1. specialize (H1 Hx1).
    assert ((1 - eta) * (1 / (1 + gamma)) <= (1 - eta) * Z)
      by (apply Rmult_le_compat_l; lra).
    replace ((1 - eta) / (1 + gamma)) with ((1 - eta) * (1 / (1 + gamma))) in Hob
      by (field; lra). lra.
  - intros Hx0. specialize (H0 Hx0).
    assert ((1 + eta) * Z <= (1 + eta) * (gamma / (1 + gamma)))
      by (apply Rmult_le_compat_l; lra).
    replace ((1 + eta) * gamma / (1 + gamma)) with ((1 + eta) * (gamma / (1 + gamma)))
      in Hzt by (field; lra). lra.
Qed.

(** ** Additive error *)

Theorem l3_additive_iff (gamma eta : R) :
  0 <= gamma -> 0 <= eta ->
  gamma / (1 + gamma) + eta < 1 / (1 + gamma) - eta <->
  gamma < (1 - 2 * eta) / (1 + 2 * eta).
Proof.
  intros Hg He.
  assert (Hd : 0 < 1 + gamma) by lra. assert (He' : 0 < 1 + 2 * eta) by lra.
  (* both sides are the sign of (1 - gamma) - 2 eta (1 + gamma) *)
  assert (E1 : 1 / (1 + gamma) - eta - (gamma / (1 + gamma) + eta)
               = ((1 - 2 * eta) - (1 + 2 * eta) * gamma) / (1 + gamma)) by (field; lra).
  assert (E2 : (1 - 2 * eta) / (1 + 2 * eta) - gamma
               = ((1 - 2 * eta) - (1 + 2 * eta) * gamma) / (1 + 2 * eta)) by (field; lra).
  set (num := (1 - 2 * eta) - (1 + 2 * eta) * gamma) in *.
  split; intros H.
  - assert (0 < num / (1 + gamma)) by lra.
    assert (0 < num).
    { apply Rmult_lt_reg_r with (/ (1 + gamma)); [apply Rinv_0_lt_compat; lra|].
      rewrite Rmult_0_l. exact H0. }
    assert (0 < num / (1 + 2 * eta)) by (apply Rdiv_lt_0_compat; lra). lra.
  - assert (0 < num / (1 + 2 * eta)) by lra.
    assert (0 < num).
    { apply Rmult_lt_reg_r with (/ (1 + 2 * eta)); [apply Rinv_0_lt_compat; lra|].
      rewrite Rmult_0_l. exact H0. }
    assert (0 < num / (1 + gamma)) by (apply Rdiv_lt_0_compat; lra). lra.
Qed.

Theorem l3_additive_half_separates (gamma eta : R) :
  0 <= gamma ->
  gamma / (1 + gamma) + eta < 1 / (1 + gamma) - eta ->
  gamma / (1 + gamma) + eta < 1 / 2 < 1 / (1 + gamma) - eta.
Proof.
  intros Hg H.
  (* 1/2 is the midpoint: the two ends sum to (1 + gamma)/(1 + gamma) = 1 *)
  assert (E : gamma / (1 + gamma) + eta + (1 / (1 + gamma) - eta) = 1) by (field; lra).
  lra.
Qed.

Theorem l3_decodes_additive (w v : nat -> R) (m k : nat) (gamma eta zhat : R) (x : bool) :
  (k < m)%nat -> 0 <= gamma ->
  gamma / (1 + gamma) + eta < 1 / (1 + gamma) - eta ->
  (forall j, (j < m)%nat -> 0 <= w j) ->
  rsum w m = 1 ->
  (forall j, (j < m)%nat -> 0 <= v j <= 1) ->
  v k = bitval x ->
  1 / (1 + gamma) <= w k ->
  Rabs (zhat - rsum (fun j => w j * v j) m) <= eta ->
  (x = true -> 1 / 2 < zhat) /\ (x = false -> zhat < 1 / 2).
Proof.
  intros Hk Hg Hsep Hw Hsum Hv Hx Hwk Herr.
  destruct (l3_exact_ranges w v m k gamma x Hk Hg Hw Hsum Hv Hx Hwk) as [_ [H1 H0]].
  destruct (l3_additive_half_separates gamma eta Hg Hsep) as [Hz Ho].
  apply abs_between in Herr. split.
  - intros Hx1. specialize (H1 Hx1). lra.
  - intros Hx0. specialize (H0 Hx0). lra.
Qed.
