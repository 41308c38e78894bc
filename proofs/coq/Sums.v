(** * Sums: finite sums of reals, the one piece of bookkeeping every lemma shares.

    [rsum f n] is f 0 + f 1 + ... + f (n-1) (zero for n = 0). The lemmas here are the
    facts about it that the proofs of L1, L2 and L3 use: linearity, monotonicity,
    splitting one index off, sums of constants, and the pair count
    0 + 1 + ... + (L-1) = L(L-1)/2.

    No hypotheses, no axioms of our own. *)

From Coq Require Import Reals Lra Lia.
Open Scope R_scope.

Fixpoint rsum (f : nat -> R) (n : nat) : R :=
  match n with
  | O => 0
  | S k => rsum f k + f k
  end.

Lemma rsum_ext (f g : nat -> R) (n : nat) :
  (forall i, (i < n)%nat -> f i = g i) -> rsum f n = rsum g n.
Proof.
  induction n as [|n IH]; intros H; simpl; [reflexivity|].
  rewrite IH by (intros i Hi; apply H; lia). rewrite (H n) by lia. reflexivity.
Qed.

Lemma rsum_le (f g : nat -> R) (n : nat) :
  (forall i, (i < n)%nat -> f i <= g i) -> rsum f n <= rsum g n.
Proof.
  induction n as [|n IH]; intros H; simpl; [lra|].
  assert (rsum f n <= rsum g n) by (apply IH; intros i Hi; apply H; lia).
  assert (f n <= g n) by (apply H; lia). lra.
Qed.

Lemma rsum_nonneg (f : nat -> R) (n : nat) :
  (forall i, (i < n)%nat -> 0 <= f i) -> 0 <= rsum f n.
Proof.
  intros H. replace 0 with (rsum (fun _ => 0) n).
  - apply rsum_le. exact H.
  - induction n as [|n IH]; simpl; [reflexivity|]. rewrite IH by (intros; apply H; lia). lra.
Qed.

Lemma rsum_const (c : R) (n : nat) : rsum (fun _ => c) n = INR n * c.
Proof.
  induction n as [|n IH]; simpl rsum; [simpl; lra|]. rewrite IH, S_INR. lra.
Qed.

Lemma rsum_plus (f g : nat -> R) (n : nat) :
  rsum (fun i => f i + g i) n = rsum f n + rsum g n.
Proof. induction n as [|n IH]; simpl; [lra|]. rewrite IH. lra. Qed.

Lemma rsum_scal (c : R) (f : nat -> R) (n : nat) :
  rsum (fun i => c * f i) n = c * rsum f n.
Proof. induction n as [|n IH]; simpl; [lra|]. rewrite IH. lra. Qed.

(** The sum over [0, a + b) is the sum over [0, a) plus the sum over [a, a + b). *)
Lemma rsum_split (f : nat -> R) (a b : nat) :
  rsum f (a + b) = rsum f a + rsum (fun i => f (a + i)%nat) b.
Proof.
  induction b as [|b IH].
  - rewrite Nat.add_0_r. simpl. lra.
  - rewrite Nat.add_succ_r. simpl. rewrite IH. lra.
Qed.

(** Taking one index [k < n] out of a sum: what remains is the sum of the others. *)
Lemma rsum_pick (f : nat -> R) (n k : nat) :
  (k < n)%nat ->
  rsum f n = f k + rsum (fun i => if Nat.eqb i k then 0 else f i) n.
Proof.
  induction n as [|n IH]; intros Hk; [lia|]. simpl.
  destruct (Nat.eq_dec k n) as [->|Hne].
  - rewrite Nat.eqb_refl.
    rewrite (rsum_ext (fun i => if Nat.eqb i n then 0 else f i) f n).
    + lra.
    + intros i Hi. destruct (Nat.eqb_spec i n); [lia|reflexivity].
  - rewrite IH by lia. destruct (Nat.eqb_spec n k); [lia|]. lra.
Qed.

(** The number of unordered pairs: 0 + 1 + ... + (L-1) = L(L-1)/2. *)
Lemma rsum_index (L : nat) : rsum INR L = INR L * (INR L - 1) / 2.
Proof.
  induction L as [|L IH]; simpl rsum; [simpl; lra|]. rewrite IH, S_INR. lra.
Qed.
