using KetamineCds.Clinical.Dosing;
using KetamineCds.Clinical.Medications;
using KetamineCds.Tests.Knowledge;
using static KetamineCds.Tests.Dosing.DoseBuilders;

namespace KetamineCds.Tests.Dosing;

/// <summary>One sig as an EHR sends it, what a pharmacist computes from it, and where the wording comes from.</summary>
/// <param name="Fact">The medication entry (the sig, and the product whose strength a count needs).</param>
/// <param name="MgPerDay">The pharmacist's mg/day; null when the dose must stay unknown.</param>
/// <param name="Unknown">For an unknown dose: words its reason must contain.</param>
/// <param name="Route">The route the therapy names (structured, read from the sig, or the product's); null for none.</param>
/// <param name="Oral">Whether that route is counted against the oral equivalence tables.</param>
/// <param name="Source">Where the wording comes from.</param>
public sealed record SigRow(MedicationFact Fact, decimal? MgPerDay, string? Unknown, string? Route, bool Oral, string Source);

/// <summary>
/// The sig table of issue 7 (items 1 and 3): sigs as Epic, Oracle Health (Cerner) and pharmacy systems write them.
/// Sources, per row:
/// <list type="bullet">
/// <item>"issue 7": quoted verbatim in the issue (Epic default sigs, the IV lorazepam sig).</item>
/// <item>"Epic medication list": the wording of an Epic after-visit summary or medication list seen in public code
/// (GitHub code search of exported Epic text); the drug and product are ours, the sig words are as published.</item>
/// <item>"Epic sandbox": dosageInstruction.text of MedicationOrders from Epic's open.epic.com FHIR DSTU2 sandbox (as
/// retrieved through 1up.health and published in public code); the drug is ours, the sig words are Epic's.</item>
/// <item>"Oracle Health display line": the dosage text of Oracle Health (Cerner) FHIR MedicationRequests and order
/// display lines seen in public code ("2 mg, 1 tab(s), Oral, QID, 120 tab(s)", "1 tab(s), Oral, 2 times a day, 60
/// tab(s)", "80 mg, 1 tab(s), Oral, Daily, PRN: Instruct, 90 tab(s)").</item>
/// <item>"FDA SPL": the Dosage and Administration wording of the Ativan (lorazepam) label on DailyMed (setid
/// 89057c93-8155-4040-acec-64e877bd2b4c), as quoted in the MedicationQA dataset.</item>
/// <item>"FHIR example": the FHIR R5 MedicationAdministration example medadmin0307 (lorazepam, dosage.text).</item>
/// <item>"brief": the Oracle Health styles named in the task brief.</item>
/// <item>"constructed, Epic style" / "constructed, Oracle Health style": written by us in that system's style for a
/// grammar point the issue lists ("1-2 tablets", "do not exceed N tablets in 24 hours", "every other day", routes).</item>
/// </list>
/// The NCPDP SCRIPT structured-and-codified sig examples are in NCPDP's member-only implementation guides; none could
/// be read, so no row claims them.
/// </summary>
public sealed class SigCorpusTests
{
    private static readonly SigVocabulary Vocabulary = TestKnowledge.Knowledge.Sig;
    private static readonly DailyDoseCalculator Calculator = new(new SigTextParser(Vocabulary));

    // Products (fhir-profiles/terminology/CodeSystem-rxnorm-product-ingredients.json).
    private const string Lorazepam05 = "197900";
    private const string Lorazepam1 = "197901";
    private const string Lorazepam2 = "197902";
    private const string Clonazepam05 = "197527";
    private const string Clonazepam1 = "197528";
    private const string Clonazepam2 = "197529";
    private const string ClonazepamOdt05 = "349198";
    private const string Diazepam10 = "197589";
    private const string Alprazolam05 = "308048";
    private const string Lamotrigine25 = "282401";
    private const string Lamotrigine200 = "198429";

    private static MedicationFact P(string product, string sig) => Coded(product, null, Sig(sig));

    private static MedicationFact N(string drug, string sig) => Named(drug, Sig(sig));

    /// <summary>Epic's FHIR shape: the dose structured (doseQuantity), the schedule only in dosage.text.</summary>
    private static MedicationFact EpicStructuredDose(string product, decimal tablets, string sig) =>
        Coded(product, null, new DosageFact { Text = sig, Dose = Q(tablets, "{tbl}") });

    public static readonly IReadOnlyDictionary<string, SigRow> Rows = new Dictionary<string, SigRow>
    {
        // The issue's own sigs.
        ["Epic_lorazepam_0_5mg_tablet_1_tablet_0_5_mg_total_three_times_daily_prn_is_up_to_1_5_mg"] =
            new(P(Lorazepam05, "Take 1 tablet (0.5 mg total) by mouth 3 (three) times daily as needed for anxiety."), 1.5m, null, "oral", true, "issue 7"),
        ["Epic_lamotrigine_200mg_tablet_1_tablet_200_mg_total_daily_is_200_mg"] =
            new(P(Lamotrigine200, "Take 1 tablet (200 mg total) by mouth daily."), 200m, null, "oral", true, "issue 7"),
        ["Epic_lorazepam_1mg_tablet_1_tablet_2_two_times_daily_strength_from_product_is_2_mg"] =
            new(P(Lorazepam1, "Take 1 tablet by mouth 2 (two) times daily."), 2m, null, "oral", true, "issue 7"),
        ["Lorazepam_2mg_IV_q6h_prn_agitation_is_named_intravenous_not_oral"] =
            new(N("lorazepam", "2 mg IV q6h prn agitation"), 8m, null, "intravenous", false, "issue 7"),

        // Epic medication lists as published (drug ours, words as written).
        ["Epic_list_1_tablet_4_mg_total_every_6_six_hours_is_16_mg"] =
            new(N("lorazepam", "Take 1 tablet (4 mg total) by mouth every 6 (six) hours."), 16m, null, "oral", true, "Epic medication list (ondansetron row)"),
        ["Epic_list_1_tablet_20_mg_total_nightly_is_20_mg"] =
            new(N("lamotrigine", "Take 1 tablet (20 mg total) by mouth nightly."), 20m, null, "oral", true, "Epic medication list (atorvastatin row)"),
        ["Epic_list_1_tablet_3_mg_total_nightly_at_bedtime_is_3_mg"] =
            new(N("lorazepam", "Take 1 tablet (3 mg total) by mouth nightly at bedtime."), 3m, null, "oral", true, "Epic after-visit summary (melatonin row)"),
        ["Epic_list_diazepam_10mg_2_tablets_20_mg_total_once_daily_is_20_mg"] =
            new(P(Diazepam10, "Take 2 tablets (20 mg total) by mouth once daily."), 20m, null, "oral", true, "Epic medication list (lisinopril row)"),
        ["Epic_list_lamotrigine_25mg_2_Tabs_50_mg_total_two_2_times_daily_is_100_mg"] =
            new(P(Lamotrigine25, "Take 2 Tabs (50 mg total) by mouth two(2) times daily"), 100m, null, "oral", true, "Epic medication list (carvedilol row)"),
        ["Epic_list_1_tablet_20_mg_total_daily_with_dinner_is_20_mg"] =
            new(N("lamotrigine", "Take 1 tablet (20 mg total) by mouth daily with dinner."), 20m, null, "oral", true, "Epic medication list (rivaroxaban row)"),
        ["Epic_list_300_mg_every_evening_is_300_mg"] =
            new(N("lamotrigine", "Take 300 mg by mouth every evening."), 300m, null, "oral", true, "Epic medication list (gabapentin row)"),
        ["Epic_list_40_mg_once_daily_is_40_mg"] =
            new(N("lamotrigine", "Take 40 mg by mouth once daily."), 40m, null, "oral", true, "Epic medication list (pantoprazole row)"),
        ["Epic_list_1_capsule_300_mg_total_3_three_times_daily_is_900_mg"] =
            new(N("lamotrigine", "Take 1 capsule (300 mg total) by mouth 3 (three) times daily."), 900m, null, "oral", true, "Epic sig quoted in a public sig cleaner (gabapentin)"),

        // Epic's FHIR sandbox.
        ["Epic_sandbox_1_capsule_15_mg_total_every_morning_Max_Daily_Amount_15_mg_is_15_mg"] =
            new(N("lamotrigine", "Take 1 capsule (15 mg total) by mouth every morning. Max Daily Amount: 15 mg"), 15m, null, "oral", true, "Epic sandbox (amphetamine XR order)"),
        ["Epic_sandbox_1_capsule_30_mg_total_2_two_times_a_day_is_60_mg"] =
            new(N("lamotrigine", "Take 1 capsule (30 mg total) by mouth 2 (two) times a day."), 60m, null, "oral", true, "Epic sandbox (isotretinoin order)"),
        ["Epic_sandbox_prn_course_for_up_to_10_days_is_a_duration_and_stays_unknown"] =
            new(N("lorazepam", "Chew 1 tablet (160 mg total) every 6 (six) hours as needed for mild pain for up to 10 days."), null, "could not be read", null, true, "Epic sandbox (acetaminophen order)"),

        // Constructed in Epic's style for each grammar point of the issue.
        ["Epic_lorazepam_1mg_every_8_eight_hours_prn_Max_Daily_Amount_2_mg_is_up_to_2_mg"] =
            new(N("lorazepam", "Take 1 tablet (1 mg total) by mouth every 8 (eight) hours as needed for anxiety. Max Daily Amount: 2 mg"), 2m, null, "oral", true, "constructed, Epic style"),
        ["Epic_lorazepam_0_5mg_1_2_tablets_every_6_six_hours_prn_not_over_6_tablets_in_24_hours_is_up_to_3_mg"] =
            new(P(Lorazepam05, "Take 1-2 tablets by mouth every 6 (six) hours as needed for anxiety. Do not exceed 6 tablets in 24 hours."), 3m, null, "oral", true, "constructed, Epic style"),
        ["Epic_clonazepam_1mg_1_tablet_every_evening_is_1_mg"] =
            new(P(Clonazepam1, "Take 1 tablet by mouth every evening."), 1m, null, "oral", true, "constructed, Epic style"),
        ["Epic_clonazepam_2mg_1_tablet_at_bedtime_is_2_mg"] =
            new(P(Clonazepam2, "Take 1 tablet by mouth at bedtime."), 2m, null, "oral", true, "constructed, Epic style"),
        ["Epic_diazepam_10mg_1_tablet_every_other_day_is_5_mg"] =
            new(P(Diazepam10, "Take 1 tablet by mouth every other day."), 5m, null, "oral", true, "constructed, Epic style"),
        ["Epic_alprazolam_0_5mg_half_tablet_0_25_mg_total_2_two_times_daily_prn_is_up_to_0_5_mg"] =
            new(P(Alprazolam05, "Take 0.5 tablets (0.25 mg total) by mouth 2 (two) times daily as needed for anxiety."), 0.5m, null, "oral", true, "constructed, Epic style"),
        ["Epic_lorazepam_1mg_under_the_tongue_every_8_eight_hours_is_named_sublingual_not_oral"] =
            new(P(Lorazepam1, "Place 1 tablet (1 mg total) under the tongue every 8 (eight) hours as needed for anxiety."), 3m, null, "sublingual", false, "constructed, Epic style"),
        ["Epic_clonazepam_ODT_0_5mg_dissolve_in_mouth_2_two_times_daily_is_1_mg_oral"] =
            new(P(ClonazepamOdt05, "Dissolve 1 tablet in mouth 2 (two) times daily."), 1m, null, "oral", true, "constructed, Epic style"),
        ["Epic_lorazepam_1mg_nightly_as_needed_for_sleep_is_up_to_1_mg"] =
            new(P(Lorazepam1, "Take 1 tablet by mouth nightly as needed for sleep."), 1m, null, "oral", true, "constructed, Epic style"),
        ["Epic_clonazepam_0_5mg_via_g_tube_3_three_times_daily_is_1_5_mg_counted_as_oral"] =
            new(P(Clonazepam05, "Give 1 tablet via g-tube 3 (three) times daily."), 1.5m, null, "enteral tube", true, "constructed, Epic style"),
        ["Epic_lorazepam_inject_2_mg_into_the_vein_every_6_six_hours_prn_is_named_intravenous"] =
            new(N("lorazepam", "Inject 2 mg into the vein every 6 (six) hours as needed for agitation."), 8m, null, "intravenous", false, "constructed, Epic style"),

        // Epic FHIR shape: structured dose, schedule only in the text.
        ["Epic_FHIR_structured_1_tablet_with_text_2_two_times_daily_lorazepam_1mg_is_2_mg"] =
            new(EpicStructuredDose(Lorazepam1, 1, "Take 1 tablet by mouth 2 (two) times daily."), 2m, null, "oral", true, "issue 7 (Epic FHIR shape)"),
        ["Epic_FHIR_structured_1_tablet_with_text_take_as_directed_is_unknown_naming_the_sig"] =
            new(EpicStructuredDose(Lorazepam1, 1, "Take as directed."), null, "could not be read", "oral", true, "constructed, Epic style"),

        // Oracle Health (Cerner).
        ["OracleHealth_lorazepam_0_5_mg_Oral_TID_PRN_anxiety_is_up_to_1_5_mg"] =
            new(N("lorazepam", "0.5 mg, Oral, TID, PRN anxiety"), 1.5m, null, "oral", true, "brief"),
        ["OracleHealth_clonazepam_1mg_1_tab_s_PO_BID_is_2_mg"] =
            new(P(Clonazepam1, "1 tab(s), PO, BID"), 2m, null, "oral", true, "brief"),
        ["OracleHealth_lorazepam_2mg_2_mg_1_tab_s_Oral_QID_120_tab_s_dispensed_is_8_mg"] =
            new(P(Lorazepam2, "2 mg, 1 tab(s), Oral, QID, 120 tab(s)"), 8m, null, "oral", true, "Oracle Health display line (albuterol row)"),
        ["OracleHealth_clonazepam_0_5mg_1_tab_s_Oral_2_times_a_day_60_tab_s_is_1_mg"] =
            new(P(Clonazepam05, "1 tab(s), Oral, 2 times a day, 60 tab(s)"), 1m, null, "oral", true, "Oracle Health display line (albuterol row)"),
        ["OracleHealth_lorazepam_1mg_1_mg_1_tab_s_Oral_Daily_PRN_colon_anxiety_30_tab_s_is_up_to_1_mg"] =
            new(P(Lorazepam1, "1 mg, 1 tab(s), Oral, Daily, PRN: anxiety, 30 tab(s)"), 1m, null, "oral", true, "Oracle Health display line (atorvastatin row), indication ours"),
        ["OracleHealth_home_medication_list_lorazepam_2_mg_oral_tablet_1_tab_s_Oral_Daily_11_refills_is_2_mg"] =
            new(Named("lorazepam 2 mg oral tablet, 1 tab(s), Oral, Daily, 11 refills"), 2m, null, "oral", true, "Oracle Health display line (home medication list, Aceon row)"),
        ["OracleHealth_clonazepam_1mg_1_tab_s_Oral_BID_3_refill_s_is_2_mg"] =
            new(P(Clonazepam1, "1 tab(s), Oral, BID, 3 refill(s)"), 2m, null, "oral", true, "constructed, Oracle Health style"),
        ["OracleHealth_lorazepam_2_mg_IV_q6hr_PRN_agitation_is_named_intravenous"] =
            new(N("lorazepam", "2 mg, IV, q6hr, PRN agitation"), 8m, null, "intravenous", false, "constructed, Oracle Health style"),

        // Routes written in the sig (issue 7 item 1).
        ["Lorazepam_2mg_IM_q6h_prn_is_named_intramuscular"] = new(N("lorazepam", "2 mg IM q6h prn agitation"), 8m, null, "intramuscular", false, "constructed"),
        ["Lorazepam_1mg_SL_q8h_prn_is_named_sublingual"] = new(N("lorazepam", "1 mg SL q8h prn anxiety"), 3m, null, "sublingual", false, "constructed"),
        ["Diazepam_10mg_PR_once_daily_is_named_rectal"] = new(N("diazepam", "10 mg PR once daily"), 10m, null, "rectal", false, "constructed"),
        ["Diazepam_10mg_per_rectum_daily_is_named_rectal"] = new(N("diazepam", "10 mg per rectum daily"), 10m, null, "rectal", false, "constructed"),
        ["Diazepam_5mg_intranasally_every_12_hours_is_named_nasal"] = new(N("diazepam", "5 mg intranasally every 12 hours"), 10m, null, "nasal", false, "constructed"),
        ["Diazepam_10mg_buccal_daily_is_named_buccal"] = new(N("diazepam", "10 mg buccal daily"), 10m, null, "buccal", false, "constructed"),
        ["Clonazepam_0_5mg_under_the_tongue_twice_daily_is_named_sublingual"] = new(N("clonazepam", "0.5 mg under the tongue twice daily"), 1m, null, "sublingual", false, "constructed"),
        ["Lorazepam_1mg_by_mouth_tid_is_oral"] = new(N("lorazepam", "1 mg by mouth tid"), 3m, null, "oral", true, "constructed"),
        ["Lorazepam_1mg_orally_twice_daily_is_oral"] = new(N("lorazepam", "1 mg orally twice daily"), 2m, null, "oral", true, "constructed"),
        ["Lorazepam_1mg_tid_without_any_route_is_assumed_oral"] = new(N("lorazepam", "1 mg tid"), 3m, null, null, true, "constructed"),

        // Label and FHIR example wording.
        ["FDA_SPL_Ativan_2_to_4_mg_at_bedtime_is_up_to_4_mg"] = new(N("lorazepam", "2 to 4 mg at bedtime"), 4m, null, null, true, "FDA SPL (Ativan, single daily dose at bedtime)"),
        ["FDA_SPL_Ativan_daily_range_given_in_divided_doses_is_not_a_sig_and_stays_unknown"] =
            new(N("lorazepam", "2 to 3 mg/day given two times a day or three times a day"), null, "could not be read", null, true, "FDA SPL (Ativan, anxiety)"),
        ["FHIR_example_weight_based_IV_lorazepam_is_unknown_and_named_intravenous"] =
            new(N("lorazepam", "0.05 - 0.1mg/kg IV over 2-5 minutes every 15 minutes as needed"), null, "", "intravenous", false, "FHIR example medadmin0307"),

        // Must stay unknown, with the reason.
        ["Epic_take_as_directed_is_unknown"] = new(N("lorazepam", "Take as directed."), null, "could not be read", null, true, "constructed, Epic style"),
        ["Epic_1_tablet_2_two_times_daily_with_no_known_strength_is_unknown"] =
            new(N("clonazepam", "Take 1 tablet by mouth 2 (two) times daily."), null, "no strength per unit", "oral", true, "issue 7 (no product)"),
        ["Epic_number_word_that_disagrees_2_three_is_unknown"] =
            new(P(Lorazepam1, "Take 1 tablet by mouth 2 (three) times daily."), null, "could not be read", "oral", true, "constructed, Epic style"),
        ["Sig_with_hold_instruction_is_unknown"] = new(P(Lorazepam1, "1 tab bid, hold if sedated, call MD"), null, "\"hold if sedated\", \"call MD\"", "oral", true, "constructed"),
        ["Epic_prn_without_frequency_or_maximum_is_unknown"] =
            new(P(Lorazepam05, "Take 1 tablet (0.5 mg total) by mouth as needed for anxiety."), null, "as needed with no frequency or maximum", "oral", true, "constructed, Epic style"),
    };

    public static TheoryData<string> RowNames()
    {
        var data = new TheoryData<string>();
        foreach (var name in Rows.Keys)
        {
            data.Add(name);
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(RowNames))]
    public void Sig_as_the_EHR_sends_it(string row)
    {
        var expected = Rows[row];
        var recognized = TestKnowledge.Classifier.Classify(expected.Fact);
        Assert.NotNull(recognized);
        var therapy = Assert.Single(TherapyReconciler.Reconcile([recognized], Calculator));
        var dose = therapy.Dose;

        if (expected.MgPerDay is null)
        {
            Assert.Null(dose.MgPerDay);
            Assert.False(string.IsNullOrWhiteSpace(dose.UnknownReason), "an unknown dose must say why");
            Assert.Contains(expected.Unknown!, dose.UnknownReason, StringComparison.Ordinal);
        }
        else
        {
            Assert.True(dose.UnknownReason is null, $"unexpected unknown: {dose.UnknownReason}");
            Assert.Equal(expected.MgPerDay, dose.MgPerDay);
        }

        Assert.Equal(expected.Route, therapy.Route);
        Assert.Equal(expected.Oral, RouteClassifier.IsOral(therapy.Route, Vocabulary));
    }

    [Theory]
    [InlineData("2 mg IV q6h prn agitation", "intravenous")]
    [InlineData("Place 1 tablet (1 mg total) under the tongue every 8 (eight) hours as needed for anxiety.", "sublingual")]
    [InlineData("2 mg buccal twice daily", "buccal")]
    [InlineData("2 mg, IM, q6hr, PRN agitation", "intramuscular")]
    public void A_benzodiazepine_whose_sig_names_a_non_oral_route_is_not_counted_and_the_reason_says_not_oral(string sig, string route)
    {
        var therapies = TherapyReconciler.Reconcile([TestKnowledge.Classifier.Classify(N("lorazepam", sig))!], Calculator);
        var assessment = KetamineCds.Clinical.Rules.BenzodiazepineRule.Assess(therapies, TestKnowledge.Knowledge);
        var line = Assert.Single(assessment!.Lines);
        Assert.False(line.Counted);
        Assert.Contains("not oral", line.NotCountedReason, StringComparison.Ordinal);
        Assert.Contains(route, line.NotCountedReason, StringComparison.Ordinal);
    }

    [Fact]
    public void A_non_oral_route_in_an_unreadable_sig_is_still_named_as_not_oral()
    {
        var therapies = TherapyReconciler.Reconcile([TestKnowledge.Classifier.Classify(N("lorazepam", "2 mg IV q6h prn agitation, hold if RASS below -2"))!], Calculator);
        var line = Assert.Single(KetamineCds.Clinical.Rules.BenzodiazepineRule.Assess(therapies, TestKnowledge.Knowledge)!.Lines);
        Assert.Null(line.Therapy.Dose.MgPerDay);
        Assert.Contains("not oral", line.NotCountedReason, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("1 tab bid, hold if sedated, call MD")]
    [InlineData("Take 1 tablet by mouth 2 (three) times daily; then, as directed")]
    [InlineData("0.5 mg, twice daily, alternating with 1 mg, at bedtime")]
    public void An_unreadable_sig_is_quoted_with_the_records_exact_words(string sig)
    {
        var recognized = TestKnowledge.Classifier.Classify(P(Lorazepam1, sig))!;
        var dose = Calculator.Calculate(recognized);
        Assert.Null(dose.MgPerDay);
        Assert.Contains($"\"{sig}\"", dose.UnknownReason, StringComparison.Ordinal);

        // Every part named as not understood is a stretch of the sig exactly as written.
        var parsed = new SigTextParser(Vocabulary).Parse(sig);
        Assert.NotEmpty(parsed.UnparsedParts);
        Assert.All(parsed.UnparsedParts, part => Assert.Contains(part, sig, StringComparison.Ordinal));
        Assert.Contains(parsed.Unparsed!, sig, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("26643006", true)]
    [InlineData("Oral route (qualifier value)", true)]
    [InlineData("PO", true)]
    [InlineData("Gastrostomy tube", true)]
    [InlineData("47625008", false)]
    [InlineData("Intravenous route", false)]
    [InlineData("Sublingual route", false)]
    [InlineData("37839007", false)]
    [InlineData("Buccal", false)]
    [InlineData("Per rectum", false)]
    [InlineData("nasal", false)]
    [InlineData("parenteral", false)]
    [InlineData("Oral inhalation", false)]
    [InlineData("Oropharyngeal", false)]
    public void A_structured_route_is_classified_by_the_vocabulary(string route, bool oral)
    {
        Assert.Equal(oral, RouteClassifier.IsOral(route, Vocabulary));
    }

    [Fact]
    public void The_table_covers_Epic_Oracle_Health_routes_and_unknowns()
    {
        Assert.True(Rows.Count >= 40, $"{Rows.Count} rows");
        Assert.True(Rows.Values.Count(r => r.Source.Contains("Oracle Health", StringComparison.Ordinal) || r.Source == "brief") >= 5);
        Assert.True(Rows.Values.Count(r => !r.Oral) >= 10);
        Assert.True(Rows.Values.Count(r => r.MgPerDay is null) >= 6);
        Assert.All(Rows.Values, r => Assert.False(string.IsNullOrWhiteSpace(r.Source)));
    }
}
