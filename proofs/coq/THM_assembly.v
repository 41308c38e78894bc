(** * The assembly (docs/theorem.md#thm, #cap): C_min, the logit cap, and the chain L1-L3.

    Statements (for all parameters), with gamma(C) = (L-1) e^{-C(1-eps)} + T_K e^{-C}:
    - [gamma_antitone], [gamma_strict]: gamma is non-increasing in C for eps <= 1, and
      strictly decreasing for eps < 1 when L >= 2 or T_K >= 1.
    - [thm_threshold]: for eps < 1 and 0 < target < (L-1) + T_K there is a unique
      C_star > 0 with gamma(C_star) = target, and gamma(C) < target iff C > C_star: the admissible
      scales form the open ray (C_star, oo). lowerbound.softmax.c_min returns the least
      double on it; [is_c_min] says "least admissible scale in a candidate set S" (S =
      the doubles), and [thm_c_min_exact] identifies it: C_min in S is least admissible
      iff it is the least member of S above C_star.
    - [thm_above_c_min]: every C >= C_min meets L3's condition gamma(C) < (1-eta)/(1+eta).
    - [thm_cap_iff]: with a logit cap B > 0, some 0 < C <= B has gamma(C) < target iff
      gamma(B) < target; [thm_c_min_le_cap]: C_min <= B iff gamma(B) < target (B in S), so
      the two checks in the code (C_min <= cap, and gamma(cap) < target) agree.
    - [thm_reduction_decodes] chains L1, L2 and L3 with no hypothesis: for all L, T_K,
      eps in (0, 1], eta in [0, 1) and d >= d_min = up(2 ln(L(L-1)/2)/eps^2), ONE family
      of L sign vectors exists such that for EVERY scale C >= 0 with
      gamma(C) < (1-eta)/(1+eta), every bit matrix x, target i < L and coordinate l, Bob's
      query C k_i over the L Alice tokens (values x_{j,l}) and the T_K zero keys (zero
      values) yields an output Z whose every reading zhat with |zhat - Z| <= eta Z decodes
      x_{i,l} with the threshold tau. The family comes from [l1_good_family_at_d_min], so
      it rests on the proved Hoeffding bound of [Rademacher].
    - [thm_main]: the same in the order "exists family, for all C >= C_min": C_min the
      least admissible scale among positive candidates S ([is_c_min]).

    Code: lowerbound.softmax.gamma, lowerbound.softmax.c_min,
    lowerbound.softmax.scale_for_gamma, lowerbound.models.VAR_LOGIT_CAP,
    kvbound.commands.constants (c_min_fits_cap), proofs.c2_heads_layers (gamma(100)),
    reduction.protocol.
    No hypotheses; Coq's real-number axioms only. *)

From Coq Require Import Reals Lra Lia.
From KVBound Require Import Sums Rademacher L1_union_bound L2_softmax L3_decoding.
Open Scope R_scope.

Lemma exp_mono_le (x y : R) : x <= y -> exp x <= exp y.
Proof. apply L2_softmax.exp_mono. Qed.

(** ** gamma is monotone in C *)

Lemma gamma_antitone (L T : nat) (eps C C' : R) :
  (1 <= L)%nat -> eps <= 1 -> C <= C' -> gamma L T C' eps <= gamma L T C eps.
Proof.
  intros HL He HC. unfold gamma.
  assert (0 <= INR L - 1) by (assert (1 <= INR L) by (apply (le_INR 1); exact HL); lra).
  pose proof (pos_INR T).
  apply Rplus_le_compat; apply Rmult_le_compat_l; try assumption; apply exp_mono_le.
  - assert (C * (1 - eps) <= C' * (1 - eps)) by (apply Rmult_le_compat_r; lra). lra.
  - lra.
Qed.

Lemma gamma_strict (L T : nat) (eps C C' : R) :
  (1 <= L)%nat -> ((2 <= L)%nat \/ (1 <= T)%nat) -> eps < 1 -> C < C' ->
  gamma L T C' eps < gamma L T C eps.
Proof.
  intros HL1 HLT He HC. unfold gamma.
  assert (E1 : exp (- (C' * (1 - eps))) < exp (- (C * (1 - eps)))).
  { apply exp_increasing. assert (C * (1 - eps) < C' * (1 - eps))
      by (apply Rmult_lt_compat_r; lra). lra. }
  assert (E2 : exp (- C') < exp (- C)) by (apply exp_increasing; lra).
  assert (1 <= INR L) by (apply (le_INR 1); exact HL1). pose proof (pos_INR T).
  destruct HLT as [HL|HT].
  - assert (2 <= INR L) by (apply (le_INR 2); exact HL).
    assert (INR T * exp (- C') <= INR T * exp (- C)) by (apply Rmult_le_compat_l; lra).
    assert ((INR L - 1) * exp (- (C' * (1 - eps))) < (INR L - 1) * exp (- (C * (1 - eps))))
      by (apply Rmult_lt_compat_l; lra).
    lra.
  - assert (1 <= INR T) by (apply (le_INR 1); exact HT).
    assert ((INR L - 1) * exp (- (C' * (1 - eps))) <= (INR L - 1) * exp (- (C * (1 - eps))))
      by (apply Rmult_le_compat_l; lra).
    assert (INR T * exp (- C') < INR T * exp (- C)) by (apply Rmult_lt_compat_l; lra).
    lra.
Qed.

Lemma gamma_nonneg (L T : nat) (eps C : R) : (1 <= L)%nat -> 0 <= gamma L T C eps.
Proof.
  intros HL. unfold gamma. assert (1 <= INR L) by (apply (le_INR 1); exact HL).
  pose proof (pos_INR T). pose proof (exp_pos (- (C * (1 - eps)))). pose proof (exp_pos (- C)).
  assert (0 <= (INR L - 1) * exp (- (C * (1 - eps)))) by (apply Rmult_le_pos; lra).
  assert (0 <= INR T * exp (- C)) by (apply Rmult_le_pos; lra). lra.
Qed.

Lemma gamma_at_zero (L T : nat) (eps : R) : gamma L T 0 eps = INR L - 1 + INR T.
Proof. unfold gamma. rewrite Rmult_0_l, Ropp_0, exp_0. lra. Qed.

(** ** The admissible scales form a ray (C_star, oo) *)

Theorem thm_threshold (L T : nat) (eps target : R) :
  (1 <= L)%nat -> ((2 <= L)%nat \/ (1 <= T)%nat) -> 0 <= eps < 1 ->
  0 < target < INR L - 1 + INR T ->
  exists Cs, 0 < Cs /\ gamma L T Cs eps = target /\
             forall C, gamma L T C eps < target <-> Cs < C.
Proof.
  intros HL HLT He Ht.
  set (K := INR L - 1 + INR T).
  assert (HL' : 1 <= INR L) by (apply (le_INR 1); exact HL). pose proof (pos_INR T).
  assert (HK : target < K) by (unfold K; lra).
  set (y := K / (target * (1 - eps))).
  assert (Hy : 0 < y) by (unfold y; apply Rdiv_lt_0_compat; [lra|apply Rmult_lt_0_compat; lra]).
  assert (Hyu : y * (1 - eps) = K / target) by (unfold y; field; lra).
  (* gamma(y) <= K e^{-y(1-eps)} = K / e^{K/target} < K / (K/target) = target *)
  assert (Hgy : gamma L T y eps < target).
  { assert (Hexp : K / target < exp (K / target)).
    { pose proof (exp_ineq1_le (K / target)). lra. }
    assert (Hkt : 0 < K / target) by (apply Rdiv_lt_0_compat; lra).
    assert (Hb : gamma L T y eps <= K * exp (- (y * (1 - eps)))).
    { unfold gamma, K. rewrite Rmult_plus_distr_r.
      apply Rplus_le_compat_l. apply Rmult_le_compat_l; [lra|].
      apply exp_mono_le. assert (0 <= y * eps) by (apply Rmult_le_pos; lra). lra. }
    rewrite Hyu, exp_Ropp in Hb.
    assert (K * / exp (K / target) < target).
    { apply Rmult_lt_reg_r with (exp (K / target)); [apply exp_pos|].
      rewrite Rmult_assoc, Rinv_l by (pose proof (exp_pos (K / target)); lra).
      rewrite Rmult_1_r.
      apply Rle_lt_trans with (target * (K / target)).
      - right. field. lra.
      - apply Rmult_lt_compat_l; lra. }
    lra. }
  destruct (IVT (fun C => target - gamma L T C eps) 0 y) as [Cs [[H0 Hy'] HCs]].
  - unfold gamma. reg.
  - exact Hy.
  - simpl. rewrite gamma_at_zero. fold K. lra.
  - simpl. lra.
  - simpl in HCs. assert (Hg : gamma L T Cs eps = target) by lra.
    assert (HCs0 : 0 < Cs).
    { destruct H0 as [H0|H0]; [exact H0|]. subst Cs. rewrite gamma_at_zero in Hg.
      fold K in Hg. lra. }
    exists Cs. split; [exact HCs0|split; [exact Hg|]].
    intros C. split; intros HgC.
    + destruct (Rlt_le_dec Cs C) as [Hlt|Hle]; [exact Hlt|].
      pose proof (gamma_antitone L T eps C Cs HL ltac:(lra) Hle). lra.
    + pose proof (gamma_strict L T eps Cs C HL HLT (proj2 He) HgC). lra.
Qed.

(** C_min: the least admissible scale among the candidates S (the doubles, in the code). *)
Definition is_c_min (L T : nat) (eps target : R) (S : R -> Prop) (Cm : R) : Prop :=
  S Cm /\ gamma L T Cm eps < target /\
  forall C, S C -> gamma L T C eps < target -> Cm <= C.

Theorem thm_c_min_exact (L T : nat) (eps target Cs : R) (S : R -> Prop) (Cm : R) :
  (forall C, gamma L T C eps < target <-> Cs < C) ->
  is_c_min L T eps target S Cm <->
  S Cm /\ Cs < Cm /\ forall C, S C -> Cs < C -> Cm <= C.
Proof.
  intros Hray. unfold is_c_min. split.
  - intros [HS [Hg Hleast]]. split; [exact HS|split].
    + apply Hray. exact Hg.
    + intros C HC HCs. apply Hleast; [exact HC|apply Hray; exact HCs].
  - intros [HS [Hg Hleast]]. split; [exact HS|split].
    + apply Hray. exact Hg.
    + intros C HC HCg. apply Hleast; [exact HC|apply Hray; exact HCg].
Qed.

(** ** Above C_min, L3's condition holds *)

Theorem thm_above_c_min (L T : nat) (eps target Cm C : R) :
  (1 <= L)%nat -> eps <= 1 -> gamma L T Cm eps < target -> Cm <= C ->
  gamma L T C eps < target.
Proof.
  intros HL He Hg HC. pose proof (gamma_antitone L T eps Cm C HL He HC). lra.
Qed.

Corollary thm_c_min_meets_l3 (L T : nat) (eps eta Cm C : R) :
  (1 <= L)%nat -> eps <= 1 -> 0 <= eta < 1 ->
  gamma L T Cm eps < (1 - eta) / (1 + eta) -> Cm <= C ->
  zero_top (gamma L T C eps) eta < tau (gamma L T C eps) eta < one_bottom (gamma L T C eps) eta.
Proof.
  intros HL He Heta Hg HC. apply l3_tau_separates; [exact Heta|apply gamma_nonneg; exact HL|].
  apply thm_above_c_min with Cm; assumption.
Qed.

(** ** The logit cap B *)

Theorem thm_cap_iff (L T : nat) (eps target B : R) :
  (1 <= L)%nat -> eps <= 1 -> 0 < B ->
  (exists C, 0 < C <= B /\ gamma L T C eps < target) <-> gamma L T B eps < target.
Proof.
  intros HL He HB. split.
  - intros [C [HC Hg]]. apply thm_above_c_min with C; [exact HL|exact He|exact Hg|lra].
  - intros Hg. exists B. split; [lra|exact Hg].
Qed.

Theorem thm_c_min_le_cap (L T : nat) (eps target : R) (S : R -> Prop) (Cm B : R) :
  (1 <= L)%nat -> eps <= 1 -> is_c_min L T eps target S Cm -> S B ->
  Cm <= B <-> gamma L T B eps < target.
Proof.
  intros HL He [HS [Hg Hleast]] HB. split.
  - intros HCB. apply thm_above_c_min with Cm; assumption.
  - intros HgB. apply Hleast; assumption.
Qed.

(** ** The chain L1 -> L2 -> L3 on the hard instance *)

Lemma inner_sym (d : nat) (f : Family) (i j : nat) : inner d f i j = inner d f j i.
Proof. unfold inner. apply rsum_ext. intros k _. apply Rmult_comm. Qed.

Lemma inner_self (d : nat) (f : Family) (i : nat) : inner d f i i = INR d.
Proof.
  unfold inner. rewrite <- (Rmult_1_r (INR d)), <- rsum_const. apply rsum_ext.
  intros k _. destruct (f i k); simpl; lra.
Qed.

(** Bob's scores for target i: C <k_i, k_j> on Alice's L tokens, 0 on the T_K zero keys. *)
Definition scores (L d : nat) (C : R) (f : Family) (i : nat) (j : nat) : R :=
  if Nat.ltb j L then C * inner d f i j / INR d else 0.

(** Coordinate l of the values: Alice's bits on her tokens, zero on the zero keys. *)
Definition values (L : nat) (x : nat -> nat -> bool) (l : nat) (j : nat) : R :=
  if Nat.ltb j L then bitval (x j l) else 0.

(** Bob's exact output coordinate l for target i: sum_j w_j v_{j,l} over L + T_K tokens. *)
Definition output (L T d : nat) (C : R) (f : Family) (x : nat -> nat -> bool) (i l : nat) : R :=
  rsum (fun j => softmax_weight (scores L d C f i) (L + T) j * values L x l j) (L + T).

(** For one eps-orthogonal family, every admissible C, bit matrix, target and coordinate:
    L2 + L3 on the hard instance. *)
Lemma decodes_on_family (L T d : nat) (eps eta C : R) (f : Family) :
  0 < eps <= 1 -> (1 <= d)%nat -> 0 <= eta < 1 -> 0 <= C ->
  gamma L T C eps < (1 - eta) / (1 + eta) ->
  (forall i j, (i < j < L)%nat -> inner d f i j <= eps * INR d) ->
  forall (x : nat -> nat -> bool) (i l : nat) (zhat : R),
    (i < L)%nat ->
    Rabs (zhat - output L T d C f x i l) <= eta * output L T d C f x i l ->
    (x i l = true -> tau (gamma L T C eps) eta < zhat) /\
    (x i l = false -> zhat < tau (gamma L T C eps) eta).
Proof.
  intros He Hd Heta HC0 HgC Hf x i l zhat Hi Herr.
  assert (HL : (1 <= L)%nat) by lia.
  assert (Hdr : 0 < INR d) by (apply (lt_INR 0); lia).
  assert (Hw : 1 / (1 + gamma L T C eps) <= softmax_weight (scores L d C f i) (L + T) i).
  { apply l2_hard_instance.
    - exact Hi.
    - unfold scores. destruct (Nat.ltb_spec i L); [|lia].
      rewrite inner_self. field. lra.
    - intros j Hj Hne. unfold scores. destruct (Nat.ltb_spec j L); [|lia].
      assert (Hij : inner d f i j <= eps * INR d).
      { destruct (Nat.lt_total i j) as [Hlt|[Heq|Hgt]].
        - apply Hf. lia.
        - lia.
        - rewrite inner_sym. apply Hf. lia. }
      assert (inner d f i j / INR d <= eps).
      { apply Rmult_le_reg_r with (INR d); [exact Hdr|].
        unfold Rdiv. rewrite Rmult_assoc, Rinv_l by lra. lra. }
      unfold Rdiv. rewrite Rmult_assoc. apply Rmult_le_compat_l; [exact HC0|]. exact H0.
    - intros j Hj. unfold scores. destruct (Nat.ltb_spec j L); [lia|lra]. }
  apply (l3_decodes_relative (fun j => softmax_weight (scores L d C f i) (L + T) j)
           (values L x l) (L + T) i (gamma L T C eps) eta zhat (x i l)).
  - lia.
  - exact Heta.
  - apply gamma_nonneg. exact HL.
  - exact HgC.
  - intros j _. apply softmax_weight_nonneg.
  - apply softmax_sum_one. lia.
  - intros j _. unfold values. destruct (Nat.ltb j L); [destruct (x j l); simpl|]; lra.
  - unfold values. destruct (Nat.ltb_spec i L); [reflexivity|lia].
  - exact Hw.
  - exact Herr.
Qed.

Lemma d_min_pos (L : nat) (eps : R) : 0 < eps -> (1 <= up (2 * ln (pairs L) / eps ^ 2))%Z.
Proof.
  intros He. destruct (archimed (2 * ln (pairs L) / eps ^ 2)) as [Hup _].
  assert (Hln : 0 <= ln (pairs L)).
  { destruct (Nat.lt_ge_cases L 2) as [Hs|Hl].
    - rewrite pairs_small by exact Hs. unfold ln. destruct (Rlt_dec 0 0) as [H0|H0]; [exfalso; lra|lra].
    - assert (H1 : 1 <= pairs L).
      { unfold pairs. assert (2 <= INR L) by (apply (le_INR 2); exact Hl). nra. }
      rewrite <- ln_1. destruct H1 as [H1|H1]; [left; apply ln_increasing; lra|].
      rewrite H1. lra. }
  assert (0 <= 2 * ln (pairs L) / eps ^ 2).
  { unfold Rdiv. apply Rmult_le_pos; [lra|]. left. apply Rinv_0_lt_compat, pow_lt. lra. }
  assert (0 < up (2 * ln (pairs L) / eps ^ 2))%Z by (apply lt_IZR; lra). lia.
Qed.

(** ** The theorem: above d_min one family works for every admissible scale *)

(** THM, decoding half: for all L, T_K, d >= d_min(L, eps), eps in (0, 1] and eta in [0, 1),
    ONE family of L sign vectors exists such that for EVERY scale C >= 0 with
    gamma(C) < (1-eta)/(1+eta) -- in particular every C >= C_min -- every bit matrix x,
    target i < L and coordinate l, every reading zhat within relative error eta of Bob's
    output decodes x_{i,l} with the threshold tau. *)
Theorem thm_reduction_decodes (L T d : nat) (eps eta : R) :
  0 < eps <= 1 -> (up (2 * ln (pairs L) / eps ^ 2) <= Z.of_nat d)%Z -> 0 <= eta < 1 ->
  exists f : Family,
    forall C : R, 0 <= C -> gamma L T C eps < (1 - eta) / (1 + eta) ->
    forall (x : nat -> nat -> bool) (i l : nat) (zhat : R),
      (i < L)%nat ->
      Rabs (zhat - output L T d C f x i l) <= eta * output L T d C f x i l ->
      (x i l = true -> tau (gamma L T C eps) eta < zhat) /\
      (x i l = false -> zhat < tau (gamma L T C eps) eta).
Proof.
  intros He Hd Heta.
  destruct (l1_good_family_at_d_min L d eps (proj1 He) Hd) as [f Hf].
  exists f. intros C HC0 HgC.
  apply (decodes_on_family L T d eps eta C f He); try assumption.
  pose proof (d_min_pos L eps (proj1 He)). lia.
Qed.

(** The headline form: exists family, for all C >= C_min. C_min is the least admissible
    scale among positive candidates S (the positive doubles in the code). *)
Theorem thm_main (L T d : nat) (eps eta : R) (S : R -> Prop) (Cm : R) :
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
Proof.
  intros HL He Hd Heta HS [HCm [HgCm _]].
  destruct (thm_reduction_decodes L T d eps eta He Hd Heta) as [f Hf].
  exists f. intros C HC. apply Hf.
  - pose proof (HS Cm HCm). lra.
  - apply thm_above_c_min with Cm; [exact HL|lra|exact HgCm|exact HC].
Qed.
