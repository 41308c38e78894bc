(** * Certified instances: the general theorems evaluated on the released VAR heads.

    The Interval tactic (libcoq-interval) encloses the transcendental constants, and the
    general theorems of L1 and of the assembly turn the enclosures into statements:
    - [cert_d_min_424], [cert_d_min_1216]: d_min(424, 3/4) = 41 and d_min(1216, 3/4) = 49
      (lowerbound.jl.d_min): the theorem's L = L_{K-1} for var-256 and var-512, both below
      the head dimension 64. [cert_d_min_2240]: d_min(2240, 3/4) = 53 at L = 2240 = L_K of
      var-512, which is not the theorem's L (the last scale is not cached).
    - [cert_c_star_424]: for L = 424, T_K = 256, eps = 3/4, eta = 1/4 the threshold scale
      C_star of [thm_threshold] lies in (26.2327, 26.2328) (lowerbound.softmax.c_min gives
      26.23279121815771).
    - [cert_var_cap_256], [cert_var_cap_512]: with the logit cap B = 100 of released VAR
      heads some admissible C <= 100 exists (L = 424, T_K = 256 and L = 1216, T_K = 1024).

    Hypotheses: none. *)

From Coq Require Import Reals Lra Lia ZArith.
From Interval Require Import Tactic Specific_stdz Specific_ops.
From KVBound Require Import L1_union_bound L2_softmax THM_assembly.
Open Scope R_scope.

(** The Interval tactic over floats with [Z] mantissas. Its default instance may compute
    with Coq's primitive floats and 63-bit integers, whose specifications are axioms of the
    kernel; with these floats and a precision above 53 bits the proofs rest only on the
    real-number axioms. *)
Module StdZFloat := SpecificFloat StdZRadix2.
Module IntervalZ := IntervalTactic StdZFloat.
Import IntervalZ.

Lemma INR_lit (n : nat) : INR n = IZR (Z.of_nat n).
Proof. apply INR_IZR_INZ. Qed.

Theorem cert_d_min_424 : up (2 * ln (pairs 424) / (3 / 4) ^ 2) = 41%Z.
Proof.
  unfold pairs. rewrite INR_lit. simpl Z.of_nat.
  symmetry. replace 41%Z with (40 + 1)%Z by reflexivity.
  apply up_tech; [|rewrite plus_IZR]; simpl IZR; interval with (i_prec 80).
Qed.

(** The theorem's instance (docs/theorem.md#thm): var-512 caches L = 1216 tokens. *)
Theorem cert_d_min_1216 : up (2 * ln (pairs 1216) / (3 / 4) ^ 2) = 49%Z.
Proof.
  unfold pairs. rewrite INR_lit. simpl Z.of_nat.
  symmetry. replace 49%Z with (48 + 1)%Z by reflexivity.
  apply up_tech; [|rewrite plus_IZR]; simpl IZR; interval with (i_prec 80).
Qed.

(** L = 2240 = L_K of var-512 (the last scale counted too): not the theorem's L, kept
    because it is the often-quoted example (docs/theorem.md, Subtleties). *)
Theorem cert_d_min_2240 : up (2 * ln (pairs 2240) / (3 / 4) ^ 2) = 53%Z.
Proof.
  unfold pairs. rewrite INR_lit. simpl Z.of_nat.
  symmetry. replace 53%Z with (52 + 1)%Z by reflexivity.
  apply up_tech; [|rewrite plus_IZR]; simpl IZR; interval with (i_prec 80).
Qed.

Theorem cert_c_star_424 :
  exists Cs, 26.2327 < Cs < 26.2328 /\
    forall C, gamma 424 256 C (3 / 4) < (1 - 1 / 4) / (1 + 1 / 4) <-> Cs < C.
Proof.
  assert (Hlo : (1 - 1 / 4) / (1 + 1 / 4) < gamma 424 256 26.2327 (3 / 4)).
  { unfold gamma. rewrite !INR_lit. simpl Z.of_nat. interval with (i_prec 80). }
  assert (Hhi : gamma 424 256 26.2328 (3 / 4) < (1 - 1 / 4) / (1 + 1 / 4)).
  { unfold gamma. rewrite !INR_lit. simpl Z.of_nat. interval with (i_prec 80). }
  destruct (thm_threshold 424 256 (3 / 4) ((1 - 1 / 4) / (1 + 1 / 4)))
    as [Cs [_ [Hg Hray]]].
  - lia.
  - left. lia.
  - lra.
  - rewrite !INR_lit. simpl Z.of_nat. lra.
  - exists Cs. split; [|exact Hray]. split.
    + destruct (Rle_lt_dec Cs 26.2327) as [[H|H]|H]; [|subst Cs; lra|exact H].
      apply Hray in H. lra.
    + apply Hray. exact Hhi.
Qed.

Theorem cert_var_cap_256 :
  exists C, 0 < C <= 100 /\ gamma 424 256 C (3 / 4) < (1 - 1 / 4) / (1 + 1 / 4).
Proof.
  apply thm_cap_iff; [lia|lra|lra|].
  unfold gamma. rewrite !INR_lit. simpl Z.of_nat. interval with (i_prec 80).
Qed.

Theorem cert_var_cap_512 :
  exists C, 0 < C <= 100 /\ gamma 1216 1024 C (3 / 4) < (1 - 1 / 4) / (1 + 1 / 4).
Proof.
  apply thm_cap_iff; [lia|lra|lra|].
  unfold gamma. rewrite !INR_lit. simpl Z.of_nat. interval with (i_prec 80).
Qed.
