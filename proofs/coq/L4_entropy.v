(** * Lemma L4 (docs/theorem.md#l4, #fano): the counting core, concavity of H2.

    H2(p) = -(p log2 p + (1-p) log2 (1-p)), with 0 log 0 = 0 (Coq's [ln 0] is 0, and it
    is multiplied by 0). Statements (for all parameters):
    - [l4_gibbs]: x ln(x/a) + (1-x) ln((1-x)/(1-a)) >= 0 for x in [0,1], a in (0,1), so
      H2 lies below each of its tangents ([cross_entropy_bound]).
    - [l4_jensen]: for weights w_j >= 0 summing to 1 and q_j in [0, 1],
      sum_j w_j H2(q_j) <= H2(sum_j w_j q_j).
    - [l4_fano_identity], [l4_fano_one_bit]: Fano for one bit. For any joint law
      P(x, m) of a bit X and a finite variable M and any guess g(M):
      H(X | M) := sum_m Pr(M = m) H2(Pr(X = 1 | M = m)) equals sum_m p_m H2(q_m) with
      q_m = Pr(X <> g(m) | M = m), because given M = m the bit X is fixed by the guess and
      the error bit (H2 is symmetric, [l4_h2_sym]); by Jensen it is at most
      H2(Pr(X <> g(M))).
    - [l4_h2_monotone]: H2 is non-decreasing on [0, 1/2]; [l4_h2_half]: H2(1/2) = 1.
    - [l4_average_bits]: the averaging step of L4. For per-bit error rates delta_j in
      [0, 1] whose average is <= delta <= 1/2,
      sum_j (1 - H2(delta_j)) >= N (1 - H2(delta)).

    The rest of the information-theoretic frame (m >= H(M) >= I(X; M), the chain rule) is
    not formalised here; INDEX_counting.v proves the deterministic counting form instead.

    Code: lowerbound.entropy (binary entropy), lowerbound.bound.index_lower_bound_bits.
    Hypotheses: none. *)

From Coq Require Import Reals Lra Lia.
From KVBound Require Import Sums.
Open Scope R_scope.

(** Binary entropy in nats, and in bits. *)
Definition Hn (p : R) : R := - (p * ln p + (1 - p) * ln (1 - p)).
Definition H2 (p : R) : R := Hn p / ln 2.

Lemma ln2_pos : 0 < ln 2.
Proof. rewrite <- ln_1. apply ln_increasing; lra. Qed.

Lemma ln_le_minus_one (y : R) : 0 < y -> ln y <= y - 1.
Proof. intros Hy. pose proof (exp_ineq1_le (ln y)). rewrite exp_ln in H by exact Hy. lra. Qed.

Lemma ln_mono (x y : R) : 0 < x -> x <= y -> ln x <= ln y.
Proof.
  intros Hx [Hxy|Hxy]; [left; apply ln_increasing; assumption|right; rewrite Hxy; reflexivity].
Qed.

(** x ln x - x ln a >= x - a for x >= 0, a > 0 (one term of Gibbs' inequality). *)
Lemma xlnx_tangent (x a : R) : 0 <= x -> 0 < a -> x - a <= x * ln x - x * ln a.
Proof.
  intros [Hx|Hx] Ha.
  - assert (E : x * ln x - x * ln a = - (x * ln (a / x))).
    { unfold Rdiv. rewrite ln_mult, ln_Rinv by (try apply Rinv_0_lt_compat; lra). ring. }
    rewrite E. pose proof (ln_le_minus_one (a / x) ltac:(apply Rdiv_lt_0_compat; lra)).
    assert (x * ln (a / x) <= x * (a / x - 1)) by (apply Rmult_le_compat_l; lra).
    replace (x * (a / x - 1)) with (a - x) in H0 by (field; lra). lra.
  - subst x. lra.
Qed.

Theorem l4_gibbs (x a : R) :
  0 <= x <= 1 -> 0 < a < 1 ->
  0 <= x * ln x + (1 - x) * ln (1 - x) - x * ln a - (1 - x) * ln (1 - a).
Proof.
  intros Hx Ha.
  pose proof (xlnx_tangent x a (proj1 Hx) (proj1 Ha)).
  pose proof (xlnx_tangent (1 - x) (1 - a) ltac:(lra) ltac:(lra)).
  lra.
Qed.

(** The tangent of Hn at a, written as a cross entropy. *)
Lemma cross_entropy_bound (x a : R) :
  0 <= x <= 1 -> 0 < a < 1 -> Hn x <= - x * ln a - (1 - x) * ln (1 - a).
Proof. intros Hx Ha. pose proof (l4_gibbs x a Hx Ha). unfold Hn. lra. Qed.

Lemma Hn_zero : Hn 0 = 0.
Proof. unfold Hn. rewrite Rminus_0_r, ln_1. ring. Qed.

Lemma Hn_one : Hn 1 = 0.
Proof. unfold Hn. rewrite ln_1. ring. Qed.

(** A sum of non-negative terms that is zero has every term zero. *)
Lemma rsum_nonneg_zero (f : nat -> R) (n : nat) :
  (forall i, (i < n)%nat -> 0 <= f i) -> rsum f n = 0 -> forall i, (i < n)%nat -> f i = 0.
Proof.
  intros Hf Hs i Hi. rewrite (rsum_pick f n i Hi) in Hs.
  assert (0 <= rsum (fun j => if Nat.eqb j i then 0 else f j) n).
  { apply rsum_nonneg. intros j Hj. destruct (Nat.eqb j i); [lra|apply Hf; exact Hj]. }
  pose proof (Hf i Hi). lra.
Qed.

(** Jensen for Hn, in nats. *)
Lemma jensen_nats (w q : nat -> R) (n : nat) :
  (forall j, (j < n)%nat -> 0 <= w j) -> rsum w n = 1 ->
  (forall j, (j < n)%nat -> 0 <= q j <= 1) ->
  rsum (fun j => w j * Hn (q j)) n <= Hn (rsum (fun j => w j * q j) n).
Proof.
  intros Hw Hsum Hq. set (qbar := rsum (fun j => w j * q j) n).
  assert (Hwq : forall j, (j < n)%nat -> 0 <= w j * q j)
    by (intros j Hj; apply Rmult_le_pos; [apply Hw|apply Hq]; exact Hj).
  assert (Hwq1 : forall j, (j < n)%nat -> 0 <= w j * (1 - q j))
    by (intros j Hj; apply Rmult_le_pos; [apply Hw|specialize (Hq j Hj); lra]; exact Hj).
  assert (Hcompl : rsum (fun j => w j * (1 - q j)) n = 1 - qbar).
  { rewrite (rsum_ext _ (fun j => w j + (-1) * (w j * q j))) by (intros; ring).
    rewrite rsum_plus, rsum_scal, Hsum. unfold qbar. ring. }
  assert (Hq0 : 0 <= qbar) by (apply rsum_nonneg; exact Hwq).
  assert (Hq1 : qbar <= 1) by (pose proof (rsum_nonneg _ n Hwq1); lra).
  destruct (Req_dec qbar 0) as [H0|H0].
  - (* every w_j q_j is 0, so every term w_j Hn(q_j) is 0 *)
    rewrite H0, Hn_zero. right.
    rewrite (rsum_ext _ (fun _ => 0)), rsum_const; [ring|].
    intros j Hj. pose proof (rsum_nonneg_zero _ n Hwq H0 j Hj) as Z.
    destruct (Rmult_integral _ _ Z) as [Z'|Z']; rewrite Z'; [ring|rewrite Hn_zero; ring].
  - destruct (Req_dec qbar 1) as [H1|H1].
    + assert (Hz : rsum (fun j => w j * (1 - q j)) n = 0) by lra.
      rewrite H1, Hn_one. right.
      rewrite (rsum_ext _ (fun _ => 0)), rsum_const; [ring|].
      intros j Hj. pose proof (rsum_nonneg_zero _ n Hwq1 Hz j Hj) as Z.
      destruct (Rmult_integral _ _ Z) as [Z'|Z']; [rewrite Z'; ring|].
      replace (q j) with 1 by lra. rewrite Hn_one. ring.
    + assert (Ha : 0 < qbar < 1) by lra.
      apply Rle_trans with
        (rsum (fun j => w j * (- q j * ln qbar - (1 - q j) * ln (1 - qbar))) n).
      * apply rsum_le. intros j Hj. apply Rmult_le_compat_l; [apply Hw; exact Hj|].
        apply cross_entropy_bound; [apply Hq; exact Hj|exact Ha].
      * right.
        rewrite (rsum_ext _ (fun j => (- ln qbar) * (w j * q j)
                                      + (- ln (1 - qbar)) * (w j * (1 - q j))))
          by (intros; ring).
        rewrite rsum_plus, !rsum_scal, Hcompl. fold qbar. unfold Hn. ring.
Qed.

Theorem l4_jensen (w q : nat -> R) (n : nat) :
  (forall j, (j < n)%nat -> 0 <= w j) -> rsum w n = 1 ->
  (forall j, (j < n)%nat -> 0 <= q j <= 1) ->
  rsum (fun j => w j * H2 (q j)) n <= H2 (rsum (fun j => w j * q j) n).
Proof.
  intros Hw Hsum Hq. unfold H2.
  rewrite (rsum_ext _ (fun j => / ln 2 * (w j * Hn (q j)))) by (intros; unfold Rdiv; ring).
  rewrite rsum_scal. unfold Rdiv. rewrite Rmult_comm.
  apply Rmult_le_compat_r; [left; apply Rinv_0_lt_compat, ln2_pos|].
  apply jensen_nats; assumption.
Qed.

Theorem l4_h2_half : H2 (1 / 2) = 1.
Proof.
  unfold H2, Hn. replace (1 - 1 / 2) with (/ 2) by lra. unfold Rdiv. rewrite Rmult_1_l.
  rewrite ln_Rinv by lra. field. apply Rgt_not_eq, ln2_pos.
Qed.

Lemma Hn_monotone (p q : R) : 0 <= p -> p <= q -> q <= 1 / 2 -> Hn p <= Hn q.
Proof.
  intros Hp Hpq Hq. destruct (Req_dec q 0) as [Q|Q].
  - replace p with q by lra. lra.
  - assert (Hq0 : 0 < q < 1) by lra.
    pose proof (cross_entropy_bound p q ltac:(lra) Hq0) as T.
    (* the tangent at q, evaluated at p, is Hn q + (q - p)(ln q - ln (1-q)) <= Hn q *)
    assert (ln q <= ln (1 - q)) by (apply ln_mono; lra).
    assert (0 <= (q - p) * (ln (1 - q) - ln q)) by (apply Rmult_le_pos; lra).
    unfold Hn in *. nra.
Qed.

Theorem l4_h2_monotone (p q : R) : 0 <= p -> p <= q -> q <= 1 / 2 -> H2 p <= H2 q.
Proof.
  intros Hp Hpq Hq. unfold H2, Rdiv. apply Rmult_le_compat_r.
  - left. apply Rinv_0_lt_compat, ln2_pos.
  - apply Hn_monotone; assumption.
Qed.

Theorem l4_average_bits (delta : nat -> R) (N : nat) (dl : R) :
  (0 < N)%nat ->
  (forall j, (j < N)%nat -> 0 <= delta j <= 1) ->
  rsum delta N / INR N <= dl -> dl <= 1 / 2 ->
  INR N * (1 - H2 dl) <= rsum (fun j => 1 - H2 (delta j)) N.
Proof.
  intros HN Hd Havg Hdl.
  assert (HNr : 0 < INR N) by (apply lt_0_INR; exact HN).
  set (w := fun _ : nat => / INR N).
  assert (Hw : rsum w N = 1) by (unfold w; rewrite rsum_const; field; lra).
  pose proof (l4_jensen w delta N ltac:(intros; unfold w; left; apply Rinv_0_lt_compat; lra)
                Hw Hd) as J.
  unfold w in J. rewrite !rsum_scal in J.
  assert (Hbar : / INR N * rsum delta N = rsum delta N / INR N) by (unfold Rdiv; ring).
  rewrite Hbar in J.
  assert (Hb0 : 0 <= rsum delta N / INR N).
  { apply Rmult_le_pos; [apply rsum_nonneg; intros j Hj; apply Hd; exact Hj|].
    left; apply Rinv_0_lt_compat; lra. }
  pose proof (l4_h2_monotone _ dl Hb0 Havg Hdl) as M.
  assert (Hsum : rsum (fun j => H2 (delta j)) N <= INR N * H2 dl).
  { apply Rmult_le_reg_l with (/ INR N); [apply Rinv_0_lt_compat; lra|].
    replace (/ INR N * (INR N * H2 dl)) with (H2 dl) by (field; lra). lra. }
  rewrite (rsum_ext _ (fun j => 1 + (-1) * H2 (delta j))) by (intros; ring).
  rewrite rsum_plus, rsum_scal, rsum_const. lra.
Qed.

(** ** Fano for one bit *)

Lemma l4_h2_sym (p : R) : H2 (1 - p) = H2 p.
Proof. unfold H2, Hn. replace (1 - (1 - p)) with p by ring. f_equal. ring. Qed.

(** A joint law of a hidden bit X and a variable M in {0, ..., n-1} (Bob's view: the
    message, public coins and his own coins): [P x m] = Pr(X = x, M = m). *)
Definition marg (P : bool -> nat -> R) (m : nat) : R := P true m + P false m.

(** H(X | M) = sum_m Pr(M = m) H2(Pr(X = 1 | M = m)), in bits. *)
Definition cond_entropy (P : bool -> nat -> R) (n : nat) : R :=
  rsum (fun m => marg P m * H2 (P true m / marg P m)) n.

(** Pr(X <> g(M)): the error probability of Bob's guess g(M). *)
Definition err_prob (P : bool -> nat -> R) (g : nat -> bool) (n : nat) : R :=
  rsum (fun m => P (negb (g m)) m) n.

(** Given M = m, X is fixed by Bob's guess g(m) and the error bit E = [X <> g(m)]
    (X = E xor g(m)), so H(X | M = m) = H2(Pr(E = 1 | M = m)) = H2(q_m). *)
Theorem l4_fano_identity (P : bool -> nat -> R) (g : nat -> bool) (n : nat) :
  (forall x m, (m < n)%nat -> 0 <= P x m) ->
  cond_entropy P n = rsum (fun m => marg P m * H2 (P (negb (g m)) m / marg P m)) n.
Proof.
  intros HP. apply rsum_ext. intros m Hm. destruct (g m); simpl negb; [|reflexivity].
  destruct (Req_dec (marg P m) 0) as [Z|Z]; [rewrite Z; ring|].
  f_equal. rewrite <- l4_h2_sym. f_equal. unfold marg in *. field. exact Z.
Qed.

(** Fano for one bit: H(X | M) <= H2(Pr(X <> g(M))) for every guess g. *)
Theorem l4_fano_one_bit (P : bool -> nat -> R) (g : nat -> bool) (n : nat) :
  (forall x m, (m < n)%nat -> 0 <= P x m) ->
  rsum (fun m => marg P m) n = 1 ->
  cond_entropy P n <= H2 (err_prob P g n).
Proof.
  intros HP Hsum. rewrite (l4_fano_identity P g n HP).
  set (q := fun m => P (negb (g m)) m / marg P m).
  assert (Hw : forall m, (m < n)%nat -> 0 <= marg P m)
    by (intros m Hm; unfold marg; pose proof (HP true m Hm); pose proof (HP false m Hm); lra).
  assert (Hmq : forall m, (m < n)%nat -> marg P m * q m = P (negb (g m)) m).
  { intros m Hm. unfold q. destruct (Req_dec (marg P m) 0) as [Z|Z].
    - rewrite Z, Rmult_0_l. unfold marg in Z.
      pose proof (HP true m Hm). pose proof (HP false m Hm). destruct (g m); simpl; lra.
    - field. exact Z. }
  assert (Hq : forall m, (m < n)%nat -> 0 <= q m <= 1).
  { intros m Hm. unfold q. destruct (Req_dec (marg P m) 0) as [Z|Z].
    - rewrite Z. unfold Rdiv. rewrite Rinv_0, Rmult_0_r. lra.
    - assert (Hpos : 0 < marg P m) by (pose proof (Hw m Hm); lra).
      pose proof (HP true m Hm). pose proof (HP false m Hm).
      split; [unfold Rdiv; apply Rmult_le_pos; [destruct (g m); simpl; lra|
                                               left; apply Rinv_0_lt_compat, Hpos]|].
      apply Rmult_le_reg_r with (marg P m); [exact Hpos|].
      unfold Rdiv. rewrite Rmult_assoc, Rinv_l by exact Z. unfold marg in *.
      destruct (g m); simpl; lra. }
  pose proof (l4_jensen (marg P) q n Hw Hsum Hq) as J.
  unfold err_prob. rewrite <- (rsum_ext _ _ n Hmq). exact J.
Qed.
