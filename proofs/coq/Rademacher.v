(** * Rademacher sums (docs/theorem.md#l1): the uniform measure on sign families, Hoeffding.

    A family of L sign vectors in {+-1}^d is a [Family] f, f i k the sign of coordinate k
    of key i (true = +1); only keys i < L and coordinates k < d matter. The uniform
    measure is a finite sum: [ksum d 0 L F base] adds F over the 2^{Ld} families obtained
    by setting those L d coordinates one by one (the others stay false), and
    [Ex L d F] = 2^{-Ld} ksum d 0 L F base, [Pr L d E] = Ex of the indicator of a boolean
    event E. Statements (for all parameters):

    - [cosh_le_exp_sq]: cosh t <= e^{t^2/2} for every real t (mean value theorem, twice).
    - [Pr_total], [Pr_false], [Pr_nonneg], [Pr_mono], [Pr_union], [Pr_ext]: [Pr L d] is a
      probability on boolean events (total mass 1, monotone, subadditive).
    - [Pr_point]: every family has mass exactly 2^{-Ld} (the measure is uniform).
    - [rademacher_mgf]: with key i fixed, summing e^{t <sigma_i, sigma_j>} over the 2^d
      settings of key j (j <> i) gives (e^t + e^{-t})^d.
    - [ex_mgf_pair]: E[e^{t <sigma_i, sigma_j>}] = cosh(t)^d for i < j < L.
    - [hoeffding_pair]: for i < j < L and eps >= 0,
      Pr(<sigma_i, sigma_j> > eps d) <= e^{-eps^2 d/2} (Chernoff: the indicator is below
      e^{eps(<sigma_i, sigma_j> - eps d)}, then the two lemmas above).

    Code: reduction.keys.sample_keys (draws such a family), lowerbound.jl.jl_failure_bound.
    No hypotheses; Coq's real-number axioms only. *)

From Coq Require Import Reals Lra Lia Bool.
From KVBound Require Import Sums.
Open Scope R_scope.

(** ** cosh t <= e^{t^2/2} *)

Lemma sinh_0 : sinh 0 = 0.
Proof. unfold sinh. rewrite Ropp_0, exp_0. lra. Qed.

Lemma sinh_pos (x : R) : 0 < x -> 0 < sinh x.
Proof. intros H. pose proof (sinh_lt 0 x H). rewrite sinh_0 in H0. exact H0. Qed.

(** r(t) = t cosh t - sinh t has derivative t sinh t. *)
Lemma r_deriv (t : R) :
  derivable_pt_lim (fun x => x * cosh x - sinh x) t (t * sinh t).
Proof.
  replace (t * sinh t) with ((1 * cosh t + t * sinh t) - cosh t) by ring.
  apply (derivable_pt_lim_minus (fun x => x * cosh x) sinh).
  - apply (derivable_pt_lim_mult id cosh); [apply derivable_pt_lim_id|].
    apply derivable_pt_lim_cosh.
  - apply derivable_pt_lim_sinh.
Qed.

Lemma r_nonneg (t : R) : 0 <= t -> 0 <= t * cosh t - sinh t.
Proof.
  intros [Ht|Ht]; [|subst; rewrite sinh_0; lra].
  destruct (MVT_cor2 (fun x => x * cosh x - sinh x) (fun x => x * sinh x) 0 t Ht)
    as [c [Hc Hct]].
  - intros c _. apply r_deriv.
  - rewrite sinh_0 in Hc. pose proof (sinh_pos c (proj1 Hct)).
    assert (0 <= c * sinh c * (t - 0)) by (apply Rmult_le_pos; [apply Rmult_le_pos|]; lra).
    lra.
Qed.

(** q(t) = cosh t e^{-t^2/2} has derivative -e^{-t^2/2} r(t). *)
Lemma q_deriv (t : R) :
  derivable_pt_lim (fun x => cosh x * exp (- (x * x) / 2)) t
    (- (exp (- (t * t) / 2) * (t * cosh t - sinh t))).
Proof.
  replace (- (exp (- (t * t) / 2) * (t * cosh t - sinh t)))
    with (sinh t * exp (- (t * t) / 2) + cosh t * (exp (- (t * t) / 2) * (- (2 * t) / 2)))
    by field.
  apply (derivable_pt_lim_mult cosh (fun x => exp (- (x * x) / 2))).
  - apply derivable_pt_lim_cosh.
  - apply (derivable_pt_lim_comp (fun x => - (x * x) / 2) exp).
    + replace (- (2 * t) / 2) with (- (1 * t + t * 1) * / 2) by field.
      apply derivable_pt_lim_scal_right. apply derivable_pt_lim_opp.
      apply (derivable_pt_lim_mult id id); apply derivable_pt_lim_id.
    + apply derivable_pt_lim_exp.
Qed.

Lemma cosh_le_exp_sq_pos (t : R) : 0 <= t -> cosh t <= exp (t ^ 2 / 2).
Proof.
  intros Ht.
  assert (Hq : cosh t * exp (- (t * t) / 2) <= 1).
  { destruct Ht as [Ht|Ht]; [|subst; rewrite cosh_0, Rmult_0_l, Ropp_0; unfold Rdiv;
                              rewrite Rmult_0_l, exp_0; lra].
    destruct (MVT_cor2 (fun x => cosh x * exp (- (x * x) / 2))
                (fun x => - (exp (- (x * x) / 2) * (x * cosh x - sinh x))) 0 t Ht)
      as [c [Hc Hct]].
    - intros c _. apply q_deriv.
    - rewrite cosh_0, Rmult_0_l, Ropp_0 in Hc. unfold Rdiv at 2 in Hc.
      rewrite Rmult_0_l, exp_0 in Hc.
      pose proof (r_nonneg c ltac:(lra)). pose proof (exp_pos (- (c * c) / 2)).
      assert (0 <= exp (- (c * c) / 2) * (c * cosh c - sinh c) * (t - 0))
        by (apply Rmult_le_pos; [apply Rmult_le_pos|]; lra).
      lra. }
  assert (E : exp (t ^ 2 / 2) * exp (- (t * t) / 2) = 1).
  { rewrite <- exp_plus. replace (t ^ 2 / 2 + - (t * t) / 2) with 0 by (field). apply exp_0. }
  pose proof (exp_pos (t ^ 2 / 2)). pose proof (exp_pos (- (t * t) / 2)).
  apply Rmult_le_reg_r with (exp (- (t * t) / 2)); [exact H0|]. lra.
Qed.

Theorem cosh_le_exp_sq (t : R) : cosh t <= exp (t ^ 2 / 2).
Proof.
  destruct (Rle_dec 0 t) as [Ht|Ht]; [apply cosh_le_exp_sq_pos; exact Ht|].
  replace (cosh t) with (cosh (- t)) by (unfold cosh; rewrite Ropp_involutive; lra).
  replace (t ^ 2) with ((- t) ^ 2) by ring. apply cosh_le_exp_sq_pos. lra.
Qed.

Lemma exp_pow (x : R) (n : nat) : exp x ^ n = exp (INR n * x).
Proof.
  induction n as [|n IH]; [simpl; rewrite Rmult_0_l, exp_0; reflexivity|].
  rewrite S_INR. simpl pow. rewrite IH, <- exp_plus. f_equal. ring.
Qed.

(** ** Families of sign vectors and the uniform measure *)

Definition Family : Type := nat -> nat -> bool.

Definition sgn (b : bool) : R := if b then 1 else -1.

(** <sigma_i, sigma_j> over the d coordinates; the unit keys are sigma_i / sqrt d. *)
Definition inner (d : nat) (f : Family) (i j : nat) : R :=
  rsum (fun k => sgn (f i k) * sgn (f j k)) d.

(** f with coordinate k of key i set to b. *)
Definition upd (f : Family) (i k : nat) (b : bool) : Family :=
  fun i' k' => if Nat.eqb i' i && Nat.eqb k' k then b else f i' k'.

(** The sum of F over the 2^n settings of coordinates 0..n-1 of key i, g fixing the rest. *)
Fixpoint vsum (i n : nat) (F : Family -> R) (g : Family) : R :=
  match n with
  | O => F g
  | S n => vsum i n F (upd g i n true) + vsum i n F (upd g i n false)
  end.

(** The sum of F over the 2^{nd} settings of keys m, ..., m+n-1 (coordinates 0..d-1). *)
Fixpoint ksum (d m n : nat) (F : Family -> R) (g : Family) : R :=
  match n with
  | O => F g
  | S n => vsum m d (ksum d (S m) n F) g
  end.

Definition base : Family := fun _ _ => false.

(** The expectation of F, and the probability of a boolean event, under uniform families. *)
Definition Ex (L d : nat) (F : Family -> R) : R := ksum d 0 L F base / 2 ^ (L * d).

Definition ind (b : bool) : R := if b then 1 else 0.

Definition Pr (L d : nat) (E : Family -> bool) : R := Ex L d (fun f => ind (E f)).

(** F does not read key i. *)
Definition ignores (F : Family -> R) (i : nat) : Prop :=
  forall h k b, F (upd h i k b) = F h.

Lemma vsum_ext (i n : nat) (F G : Family -> R) (g : Family) :
  (forall h, F h = G h) -> vsum i n F g = vsum i n G g.
Proof. revert g; induction n as [|n IH]; intros g H; simpl; [apply H|]. rewrite !IH by exact H. reflexivity. Qed.

Lemma vsum_le (i n : nat) (F G : Family -> R) (g : Family) :
  (forall h, F h <= G h) -> vsum i n F g <= vsum i n G g.
Proof.
  revert g; induction n as [|n IH]; intros g H; simpl; [apply H|].
  apply Rplus_le_compat; apply IH; exact H.
Qed.

Lemma vsum_scal (i n : nat) (c : R) (F : Family -> R) (g : Family) :
  vsum i n (fun h => c * F h) g = c * vsum i n F g.
Proof. revert g; induction n as [|n IH]; intros g; simpl; [reflexivity|]. rewrite !IH. ring. Qed.

Lemma vsum_ignores (i n : nat) (F : Family -> R) (g : Family) :
  ignores F i -> vsum i n F g = 2 ^ n * F g.
Proof.
  intros HF. revert g; induction n as [|n IH]; intros g; simpl; [ring|].
  rewrite !IH, !HF. ring.
Qed.

Lemma ksum_ext (d m n : nat) (F G : Family -> R) (g : Family) :
  (forall h, F h = G h) -> ksum d m n F g = ksum d m n G g.
Proof.
  revert m g; induction n as [|n IH]; intros m g H; simpl; [apply H|].
  apply vsum_ext. intros h. apply IH. exact H.
Qed.

Lemma ksum_le (d m n : nat) (F G : Family -> R) (g : Family) :
  (forall h, F h <= G h) -> ksum d m n F g <= ksum d m n G g.
Proof.
  revert m g; induction n as [|n IH]; intros m g H; simpl; [apply H|].
  apply vsum_le. intros h. apply IH. exact H.
Qed.

Lemma ksum_scal (d m n : nat) (c : R) (F : Family -> R) (g : Family) :
  ksum d m n (fun h => c * F h) g = c * ksum d m n F g.
Proof.
  revert m g; induction n as [|n IH]; intros m g; simpl; [reflexivity|].
  rewrite <- vsum_scal. apply vsum_ext. intros h. apply IH.
Qed.

Lemma ksum_plus (d m n : nat) (F G : Family -> R) (g : Family) :
  ksum d m n (fun h => F h + G h) g = ksum d m n F g + ksum d m n G g.
Proof.
  revert m g; induction n as [|n IH]; intros m g; simpl; [reflexivity|].
  rewrite (vsum_ext m d _ (fun h => ksum d (S m) n F h + ksum d (S m) n G h))
    by (intros; apply IH).
  clear IH. generalize (ksum d (S m) n F) (ksum d (S m) n G). intros A B.
  revert g; induction d as [|d IH]; intros g; simpl; [reflexivity|]. rewrite !IH. ring.
Qed.

(** F reads none of the keys m, ..., m+n-1: the sum is 2^{nd} F. *)
Lemma ksum_ignores (d m n : nat) (F : Family -> R) (g : Family) :
  (forall i, (m <= i < m + n)%nat -> ignores F i) -> ksum d m n F g = 2 ^ (n * d) * F g.
Proof.
  revert m g; induction n as [|n IH]; intros m g HF; simpl; [ring|].
  rewrite (vsum_ext m d _ (fun h => 2 ^ (n * d) * F h)) by (intros; apply IH; intros; apply HF; lia).
  rewrite vsum_scal, vsum_ignores by (apply HF; lia). rewrite pow_add. ring.
Qed.

Lemma ksum_const (d m n : nat) (c : R) (g : Family) :
  ksum d m n (fun _ => c) g = 2 ^ (n * d) * c.
Proof. apply ksum_ignores. intros i _ h k b. reflexivity. Qed.

Lemma ksum_split (d m a b : nat) (F : Family -> R) (g : Family) :
  ksum d m (a + b) F g = ksum d m a (ksum d (m + a) b F) g.
Proof.
  revert m g; induction a as [|a IH]; intros m g; simpl.
  - rewrite Nat.add_0_r. reflexivity.
  - apply vsum_ext. intros h. rewrite IH. replace (m + S a)%nat with (S m + a)%nat by lia.
    reflexivity.
Qed.

Lemma pow2_pos (n : nat) : 0 < 2 ^ n.
Proof. apply pow_lt. lra. Qed.

Lemma Ex_le (L d : nat) (F G : Family -> R) :
  (forall h, F h <= G h) -> Ex L d F <= Ex L d G.
Proof.
  intros H. unfold Ex, Rdiv. apply Rmult_le_compat_r.
  - left. apply Rinv_0_lt_compat, pow2_pos.
  - apply ksum_le. exact H.
Qed.

Lemma Ex_scal (L d : nat) (c : R) (F : Family -> R) :
  Ex L d (fun h => c * F h) = c * Ex L d F.
Proof. unfold Ex. rewrite ksum_scal. unfold Rdiv. ring. Qed.

Lemma Ex_const (L d : nat) (c : R) : Ex L d (fun _ => c) = c.
Proof. unfold Ex. rewrite ksum_const. field. apply Rgt_not_eq, pow2_pos. Qed.

(** ** [Pr L d] is a probability *)

Lemma ind_bounds (b : bool) : 0 <= ind b <= 1.
Proof. destruct b; simpl; lra. Qed.

Theorem Pr_total (L d : nat) : Pr L d (fun _ => true) = 1.
Proof. unfold Pr. apply Ex_const. Qed.

Theorem Pr_false (L d : nat) : Pr L d (fun _ => false) = 0.
Proof. unfold Pr. apply Ex_const. Qed.

Theorem Pr_ext (L d : nat) (E F : Family -> bool) :
  (forall f, E f = F f) -> Pr L d E = Pr L d F.
Proof. intros H. unfold Pr, Ex. rewrite (ksum_ext _ _ _ _ (fun f => ind (F f))); [reflexivity|].
  intros h. rewrite H. reflexivity. Qed.

Theorem Pr_mono (L d : nat) (E F : Family -> bool) :
  (forall f, E f = true -> F f = true) -> Pr L d E <= Pr L d F.
Proof.
  intros H. apply Ex_le. intros h. specialize (H h).
  destruct (E h), (F h); simpl; [lra|discriminate (H eq_refl)|lra|lra].
Qed.

Theorem Pr_nonneg (L d : nat) (E : Family -> bool) : 0 <= Pr L d E.
Proof. rewrite <- (Pr_false L d). apply Pr_mono. discriminate. Qed.

Theorem Pr_union (L d : nat) (E F : Family -> bool) :
  Pr L d (fun f => E f || F f) <= Pr L d E + Pr L d F.
Proof.
  unfold Pr. unfold Ex. rewrite <- Rdiv_plus_distr, <- ksum_plus.
  unfold Rdiv. apply Rmult_le_compat_r; [left; apply Rinv_0_lt_compat, pow2_pos|].
  apply ksum_le. intros h. destruct (E h), (F h); simpl; lra.
Qed.

(** ** Uniformity: every family has mass 2^{-Ld} *)

(** f agrees with f0 on coordinates 0..n-1 of key i. *)
Fixpoint agree_key (f0 f : Family) (i n : nat) : bool :=
  match n with
  | O => true
  | S n => agree_key f0 f i n && Bool.eqb (f i n) (f0 i n)
  end.

(** f agrees with f0 on keys m, ..., m+n-1 (coordinates 0..d-1). *)
Fixpoint agree (d : nat) (f0 f : Family) (m n : nat) : bool :=
  match n with
  | O => true
  | S n => agree_key f0 f m d && agree d f0 f (S m) n
  end.

Lemma upd_same (h : Family) (i k : nat) (b : bool) : upd h i k b i k = b.
Proof. unfold upd. rewrite !Nat.eqb_refl. reflexivity. Qed.

Lemma upd_other (h : Family) (i k i' k' : nat) (b : bool) :
  (i' <> i \/ k' <> k) -> upd h i k b i' k' = h i' k'.
Proof.
  intros H. unfold upd. destruct (Nat.eqb_spec i' i), (Nat.eqb_spec k' k); simpl; auto.
  destruct H; contradiction.
Qed.

Lemma vsum_point (f0 : Family) (i n : nat) (G : Family -> R) (g : Family) :
  (forall h k b, (k < n)%nat -> G (upd h i k b) = G h) ->
  vsum i n (fun h => ind (agree_key f0 h i n) * G h) g = G g.
Proof.
  revert g G; induction n as [|n IH]; intros g G HG; simpl; [ring|].
  assert (E : forall g', vsum i n (fun h => ind (agree_key f0 h i n && Bool.eqb (h i n) (f0 i n))
                                            * G h) g'
                        = vsum i n (fun h => ind (agree_key f0 h i n) *
                                             (ind (Bool.eqb (h i n) (f0 i n)) * G h)) g').
  { intros g'. apply vsum_ext. intros h.
    destruct (agree_key f0 h i n), (Bool.eqb (h i n) (f0 i n)); simpl; ring. }
  rewrite !E, !IH.
  - cbv beta. rewrite !upd_same, !HG by lia. destruct (f0 i n); simpl; ring.
  - intros h k b Hk. rewrite upd_other by lia. rewrite HG by lia. reflexivity.
  - intros h k b Hk. rewrite upd_other by lia. rewrite HG by lia. reflexivity.
Qed.

Lemma agree_key_upd (f0 h : Family) (i n i' k : nat) (b : bool) :
  i' <> i -> agree_key f0 (upd h i' k b) i n = agree_key f0 h i n.
Proof.
  intros Hi. induction n as [|n IH]; simpl; [reflexivity|].
  rewrite IH, upd_other by (left; lia). reflexivity.
Qed.

Lemma agree_upd (d : nat) (f0 h : Family) (m n i' k : nat) (b : bool) :
  (i' < m)%nat -> agree d f0 (upd h i' k b) m n = agree d f0 h m n.
Proof.
  revert m; induction n as [|n IH]; intros m Hm; simpl; [reflexivity|].
  rewrite agree_key_upd by lia. rewrite IH by lia. reflexivity.
Qed.

(** A factor that reads none of the summed coordinates comes out of the sum. *)
Lemma vsum_factor (i n : nat) (c F : Family -> R) (g : Family) :
  (forall h k b, (k < n)%nat -> c (upd h i k b) = c h) ->
  vsum i n (fun h => c h * F h) g = c g * vsum i n F g.
Proof.
  revert g; induction n as [|n IH]; intros g Hc; simpl; [reflexivity|].
  rewrite !IH by (intros; apply Hc; lia). rewrite !Hc by lia. ring.
Qed.

Lemma ksum_factor (d m n : nat) (c F : Family -> R) (g : Family) :
  (forall i, (m <= i < m + n)%nat -> ignores c i) ->
  ksum d m n (fun h => c h * F h) g = c g * ksum d m n F g.
Proof.
  revert m g; induction n as [|n IH]; intros m g Hc; simpl; [reflexivity|].
  rewrite (vsum_ext m d _ (fun h => c h * ksum d (S m) n F h))
    by (intros h; apply IH; intros i Hi; apply Hc; lia).
  apply vsum_factor. intros h k b _. apply Hc. lia.
Qed.

Lemma ksum_point (d : nat) (f0 : Family) (m n : nat) (g : Family) :
  ksum d m n (fun h => ind (agree d f0 h m n)) g = 1.
Proof.
  revert m g; induction n as [|n IH]; intros m g; simpl; [reflexivity|].
  rewrite (vsum_ext m d _ (fun h => ind (agree_key f0 h m d) * 1)).
  - apply vsum_point. reflexivity.
  - intros h.
    rewrite (ksum_ext d (S m) n _ (fun h' => ind (agree_key f0 h' m d) *
                                              ind (agree d f0 h' (S m) n)))
      by (intros h'; destruct (agree_key f0 h' m d), (agree d f0 h' (S m) n); simpl; ring).
    rewrite ksum_factor, IH; [reflexivity|].
    intros i Hi h' k b. rewrite agree_key_upd by lia. reflexivity.
Qed.

Theorem Pr_point (L d : nat) (f0 : Family) :
  Pr L d (fun f => agree d f0 f 0 L) = / 2 ^ (L * d).
Proof. unfold Pr, Ex. rewrite ksum_point. unfold Rdiv. ring. Qed.

(** ** The Rademacher moment generating function *)

(** With key i fixed, key j's d signs summed: (e^t + e^{-t})^n times the rest. *)
Theorem rademacher_mgf (i j n : nat) (t : R) (Q : Family -> R) (g : Family) :
  i <> j ->
  (forall h k b, (k < n)%nat -> Q (upd h j k b) = Q h) ->
  vsum j n (fun h => exp (t * rsum (fun k => sgn (h i k) * sgn (h j k)) n) * Q h) g
  = (exp t + exp (- t)) ^ n * Q g.
Proof.
  intros Hij. revert g Q; induction n as [|n IH]; intros g Q HQ.
  - simpl. rewrite Rmult_0_r, exp_0. ring.
  - simpl vsum.
    set (Q' := fun h => exp (t * (sgn (h i n) * sgn (h j n))) * Q h).
    assert (E : forall g', vsum j n (fun h => exp (t * rsum (fun k => sgn (h i k) * sgn (h j k))
                                                          (S n)) * Q h) g'
                          = vsum j n (fun h => exp (t * rsum (fun k => sgn (h i k) * sgn (h j k))
                                                          n) * Q' h) g').
    { intros g'. apply vsum_ext. intros h. unfold Q'. simpl rsum.
      rewrite Rmult_plus_distr_l, exp_plus. ring. }
    rewrite !E.
    assert (HQ' : forall h k b, (k < n)%nat -> Q' (upd h j k b) = Q' h).
    { intros h k b Hk. unfold Q'. rewrite !upd_other by lia. rewrite HQ by lia. reflexivity. }
    rewrite !IH by exact HQ'. unfold Q'.
    rewrite !upd_other with (i' := i) by (left; exact Hij). rewrite !upd_same.
    rewrite !HQ by lia.
    destruct (g i n); simpl sgn;
      replace (t * (1 * 1)) with t by ring; replace (t * (1 * -1)) with (- t) by ring;
      replace (t * (-1 * 1)) with (- t) by ring; replace (t * (-1 * -1)) with t by ring;
      simpl pow; ring.
Qed.

Lemma inner_ignores (d : nat) (t : R) (i j m : nat) :
  m <> i -> m <> j -> ignores (fun h => exp (t * inner d h i j)) m.
Proof.
  intros Hi Hj h k b. unfold inner. f_equal. f_equal. apply rsum_ext. intros k' _.
  rewrite !upd_other by (left; lia). reflexivity.
Qed.

Theorem ex_mgf_pair (L d i j : nat) (t : R) :
  (i < j < L)%nat -> Ex L d (fun h => exp (t * inner d h i j)) = cosh t ^ d.
Proof.
  intros Hij. unfold Ex.
  set (n' := (L - S j)%nat).
  replace L with (j + S n')%nat at 1 by (unfold n'; lia).
  rewrite ksum_split. simpl (0 + j)%nat. simpl ksum at 2.
  rewrite (ksum_ext d 0 j _ (fun _ => 2 ^ (n' * d) * (exp t + exp (- t)) ^ d)).
  - rewrite ksum_const.
    replace (L * d)%nat with (j * d + n' * d + d)%nat by (unfold n'; nia).
    rewrite !pow_add. unfold cosh. set (c := (exp t + exp (- t)) / 2).
    replace (exp t + exp (- t)) with (2 * c) by (unfold c; field).
    rewrite Rpow_mult_distr. field.
    pose proof (pow2_pos d). pose proof (pow2_pos (n' * d)). pose proof (pow2_pos (j * d)).
    repeat split; lra.
  - intros h.
    rewrite (vsum_ext j d _ (fun h' => 2 ^ (n' * d) * (exp (t * inner d h' i j) * 1))).
    + rewrite vsum_scal. f_equal. unfold inner.
      pose proof (rademacher_mgf i j d t (fun _ => 1) h ltac:(lia) ltac:(intros; reflexivity))
        as M.
      cbv beta in M. rewrite M. ring.
    + intros h'. rewrite ksum_ignores; [ring|].
      intros m Hm. apply inner_ignores; lia.
Qed.

(** The indicator of x > a is below e^{t (x - a)} for t >= 0 (Markov for e^{t x}). *)
Lemma ind_le_exp (a x t : R) :
  0 <= t -> ind (if Rlt_dec a x then true else false) <= exp (t * (x - a)).
Proof.
  intros Ht. destruct (Rlt_dec a x) as [H|H]; simpl.
  - rewrite <- exp_0. assert (0 <= t * (x - a)) by (apply Rmult_le_pos; lra).
    destruct H0 as [H0|H0]; [left; apply exp_increasing; exact H0|rewrite H0; lra].
  - left. apply exp_pos.
Qed.

Lemma Ex_ext (L d : nat) (F G : Family -> R) :
  (forall h, F h = G h) -> Ex L d F = Ex L d G.
Proof. intros H. unfold Ex. rewrite (ksum_ext _ _ _ F G) by exact H. reflexivity. Qed.

(** Pair (i, j) fails: <sigma_i, sigma_j> > eps d. *)
Definition bad (d : nat) (eps : R) (f : Family) (i j : nat) : bool :=
  if Rlt_dec (eps * INR d) (inner d f i j) then true else false.

Theorem hoeffding_pair (L d i j : nat) (eps : R) :
  (i < j < L)%nat -> 0 <= eps ->
  Pr L d (fun f => bad d eps f i j) <= exp (- (eps ^ 2 * INR d / 2)).
Proof.
  intros Hij He. unfold Pr, bad.
  eapply Rle_trans.
  { apply Ex_le. intros h. apply (ind_le_exp _ _ eps He). }
  rewrite (Ex_ext L d _ (fun h => exp (- (eps * (eps * INR d))) * exp (eps * inner d h i j)))
    by (intros h; rewrite <- exp_plus; f_equal; ring).
  rewrite Ex_scal, ex_mgf_pair by exact Hij.
  assert (Hc : cosh eps ^ d <= exp (eps ^ 2 / 2) ^ d).
  { apply pow_incr. split; [|apply cosh_le_exp_sq].
    unfold cosh. pose proof (exp_pos eps). pose proof (exp_pos (- eps)). lra. }
  rewrite exp_pow in Hc.
  apply Rle_trans with (exp (- (eps * (eps * INR d))) * exp (INR d * (eps ^ 2 / 2))).
  - apply Rmult_le_compat_l; [left; apply exp_pos|exact Hc].
  - rewrite <- exp_plus. right. f_equal. field.
Qed.
