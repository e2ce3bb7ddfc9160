using KetamineCds.Clinical.Dosing;
using KetamineCds.Clinical.Knowledge;
using KetamineCds.Clinical.Medications;
using KetamineCds.Fhir.Knowledge;
using static KetamineCds.Tests.Dosing.DoseBuilders;

namespace KetamineCds.Tests.Dosing;

/// <summary>What a pharmacist would compute for one medication list entry; MgPerDay null means "must stay unknown".</summary>
public sealed record DoseCase(
    MedicationFact Medication,
    decimal? MgPerDay,
    bool UpTo = false,
    DoseDerivation? Derivation = null,
    decimal? ScheduledMgPerDay = null);

/// <summary>
/// The dosage table of issue 4: every structured form, product strengths (contained ingredient, RxNorm product code,
/// display text), liquids, ranges, PRN maximums, frequency ranges, the article's Table 2 rows as the article writes
/// them (Joseph et al. 2023, Pharmaceuticals 16:1164, Table 2), free-text sigs, and entries that must stay unknown.
/// Product codes come from fhir-profiles/terminology/CodeSystem-rxnorm-product-ingredients.json.
/// </summary>
public sealed class DailyDoseCases
{
    private static readonly ClinicalKnowledge Knowledge = KnowledgeLoader.Load();
    private static readonly MedicationClassifier Classifier = new(Knowledge);
    private static readonly DailyDoseCalculator Calculator = new(new SigTextParser(Knowledge.Sig));

    private const string Benzo = "6470"; // lorazepam ingredient
    private static MedicationFact Lorazepam(params DosageFact[] d) => Coded(Benzo, "lorazepam", d);
    private static MedicationFact Clonazepam(params DosageFact[] d) => Coded("2598", "clonazepam", d);

    public static readonly IReadOnlyDictionary<string, DoseCase> Cases = new Dictionary<string, DoseCase>
    {
        // Structured doses in mass units with timing.repeat.
        ["Clonazepam_1mg_twice_a_day_structured_is_2_mg"] = new(Clonazepam(Dose(1, "mg", Every(2, 1, "d"))), 2m, Derivation: DoseDerivation.Structured),
        ["Clonazepam_500mcg_three_times_a_day_is_1_5_mg"] = new(Clonazepam(Dose(500, "ug", Every(3, 1, "d"))), 1.5m),
        ["Lamotrigine_0_2g_once_a_day_is_200_mg"] = new(Coded("28439", "lamotrigine", Dose(0.2m, "g", Every(1, 1, "d"))), 200m),
        ["Lorazepam_1mg_every_8_hours_is_3_mg"] = new(Lorazepam(Dose(1, "mg", Every(1, 8, "h"))), 3m),
        ["Diazepam_10mg_once_a_week_is_1_429_mg_per_day"] = new(Coded("3322", "diazepam", Dose(10, "mg", Every(1, 1, "wk"))), 1.429m),
        ["Alprazolam_0_5mg_every_2_days_is_0_25_mg"] = new(Coded("596", "alprazolam", Dose(0.5m, "mg", Every(1, 2, "d"))), 0.25m),
        ["Lorazepam_1mg_when_morning_and_bedtime_is_2_mg"] = new(Lorazepam(Dose(1, "mg", When(2))), 2m),
        ["Clonazepam_0_5mg_at_three_times_of_day_is_1_5_mg"] = new(Clonazepam(Dose(0.5m, "mg", TimeOfDay(3))), 1.5m),

        // timing.code, HL7 v3 GTSAbbreviation.
        ["Lorazepam_1mg_QD_is_1_mg"] = new(Lorazepam(Dose(1, "mg", Code("QD"))), 1m),
        ["Lorazepam_1mg_BID_is_2_mg"] = new(Lorazepam(Dose(1, "mg", Code("BID"))), 2m),
        ["Lorazepam_1mg_TID_is_3_mg"] = new(Lorazepam(Dose(1, "mg", Code("TID"))), 3m),
        ["Lorazepam_1mg_QID_is_4_mg"] = new(Lorazepam(Dose(1, "mg", Code("QID"))), 4m),
        ["Lorazepam_1mg_QOD_is_0_5_mg"] = new(Lorazepam(Dose(1, "mg", Code("QOD"))), 0.5m),
        ["Lorazepam_1mg_Q4H_is_6_mg"] = new(Lorazepam(Dose(1, "mg", Code("Q4H"))), 6m),
        ["Lorazepam_1mg_Q6H_is_4_mg"] = new(Lorazepam(Dose(1, "mg", Code("Q6H"))), 4m),
        ["Lorazepam_1mg_Q8H_is_3_mg"] = new(Lorazepam(Dose(1, "mg", Code("Q8H"))), 3m),
        ["Lorazepam_2mg_AM_is_2_mg"] = new(Lorazepam(Dose(2, "mg", Code("AM"))), 2m),
        ["Lorazepam_2mg_PM_is_2_mg"] = new(Lorazepam(Dose(2, "mg", Code("PM"))), 2m),

        // Concurrent lines add up.
        ["Lamotrigine_100mg_every_morning_and_200mg_at_bedtime_is_300_mg"] =
            new(Coded("28439", "lamotrigine", Dose(100, "mg", When(1)), Dose(200, "mg", When(1))), 300m),
        ["Clonazepam_0_5mg_BID_plus_0_5mg_q8h_prn_capped_at_1mg_is_up_to_2_scheduled_1"] =
            new(Clonazepam(Dose(0.5m, "mg", Code("BID")), Dose(0.5m, "mg", Every(1, 8, "h"), prn: true) with { MaxDosePerPeriod = PerDay(1, "mg") }),
                2m, UpTo: true, DoseDerivation.PrnMaximum, ScheduledMgPerDay: 1m),

        // Tablets: strength from a contained Medication's ingredient.
        ["Lorazepam_1_tablet_TID_with_contained_0_5mg_ingredient_is_1_5_mg"] =
            new(WithIngredients(Lorazepam(Dose(1, "{tbl}", Code("TID"))), Ingredient("6470", "lorazepam", 0.5m, 1, "{tbl}")), 1.5m, Derivation: DoseDerivation.ProductStrength),
        ["Amitriptyline_chlordiazepoxide_contained_2_tablets_TID_counts_only_chlordiazepoxide_30_mg"] =
            new(WithIngredients(Named("chlordiazepoxide and amitriptyline", Dose(2, "{tbl}", Code("TID"))),
                Ingredient(null, "amitriptyline", 12.5m, 1, "{tbl}"), Ingredient("2356", "chlordiazepoxide", 5, 1, "{tbl}")), 30m),

        // Tablets: strength from the RxNorm product code (product supplement).
        ["Clonazepam_0_5mg_tablet_RxNorm_197527_2_tablets_BID_is_2_mg"] =
            new(Coded("197527", "clonazepam 0.5 MG Oral Tablet", Dose(2, "{tbl}", Code("BID"))), 2m, Derivation: DoseDerivation.ProductStrength),
        ["Amitriptyline_25_chlordiazepoxide_10_RxNorm_856792_1_tablet_TID_is_30_mg_chlordiazepoxide"] =
            new(Coded("856792", null, Dose(1, "{tbl}", Code("TID"))), 30m),
        ["Librax_RxNorm_889614_1_capsule_QID_is_20_mg_chlordiazepoxide"] =
            new(Coded("889614", null, Dose(1, "{capsule}", Code("QID"))), 20m),
        ["Lamotrigine_200mg_RxNorm_198429_1_tablet_daily_is_200_mg"] =
            new(Coded("198429", null, Dose(1, "{tbl}", Every(1, 1, "d"))), 200m),
        ["Lamotrigine_XR_200mg_RxNorm_900156_1_tablet_daily_is_200_mg"] =
            new(Coded("900156", null, Dose(1, "{tbl}", Code("QD"))), 200m),

        // Tablets: strength from the display text.
        ["Clonazepam_1_MG_Oral_Tablet_display_only_1_tablet_BID_is_2_mg"] =
            new(Named("Clonazepam 1 MG Oral Tablet", Dose(1, "{tbl}", Code("BID"))), 2m, Derivation: DoseDerivation.ProductStrength),
        ["Amitriptyline_12_5_chlordiazepoxide_5_display_2_tablets_daily_is_10_mg_chlordiazepoxide"] =
            new(Named("amitriptyline hydrochloride 12.5 MG / chlordiazepoxide 5 MG Oral Tablet", Dose(2, "{tbl}", Code("QD"))), 10m),
        ["Ativan_brand_1mg_tablet_display_2_tablets_at_bedtime_is_2_mg"] =
            new(Named("Ativan 1 mg tablet", Dose(2, "{tbl}", When(1))), 2m),

        // Liquids: mL times mg/mL.
        ["Lorazepam_2mg_per_mL_RxNorm_311376_0_5mL_TID_is_3_mg"] =
            new(Coded("311376", "lorazepam 2 MG/ML Oral Solution", Dose(0.5m, "mL", Code("TID"))), 3m, Derivation: DoseDerivation.ProductStrength),
        ["Clonazepam_0_1mg_per_mL_display_5mL_BID_is_1_mg"] =
            new(Named("clonazepam 0.1 MG/ML Oral Solution", Dose(5, "mL", Code("BID"))), 1m),
        ["Diazepam_contained_1mg_per_mL_5mL_every_12_hours_is_10_mg"] =
            new(WithIngredients(Coded("3322", "diazepam", Dose(5, "mL", Every(1, 12, "h"))), Ingredient("3322", "diazepam", 1, 1, "mL")), 10m),

        // Ranges count the high end.
        ["Lorazepam_0_5_to_1mg_TID_is_up_to_3_mg"] =
            new(Lorazepam(Range(0.5m, 1, "mg", Code("TID"))), 3m, UpTo: true, DoseDerivation.RangeHighEnd),
        ["Alprazolam_0_25mg_RxNorm_308047_1_to_2_tablets_BID_is_up_to_1_mg"] =
            new(Coded("308047", null, Range(1, 2, "{tbl}", Code("BID"))), 1m, UpTo: true, DoseDerivation.RangeHighEnd),

        // PRN: the most the sig allows, capped by the maximums.
        ["Lorazepam_1mg_q6h_prn_without_maximum_is_up_to_4_mg"] =
            new(Lorazepam(Dose(1, "mg", Every(1, 6, "h"), prn: true)), 4m, UpTo: true, DoseDerivation.PrnMaximum, ScheduledMgPerDay: 0m),
        ["Lorazepam_1mg_q4h_prn_max_3mg_a_day_is_up_to_3_mg"] =
            new(Lorazepam(Dose(1, "mg", Every(1, 4, "h"), prn: true) with { MaxDosePerPeriod = PerDay(3, "mg") }), 3m, UpTo: true, DoseDerivation.PrnMaximum),
        ["Lorazepam_1mg_prn_no_frequency_max_2mg_a_day_is_up_to_2_mg"] =
            new(Lorazepam(Dose(1, "mg", null, prn: true) with { MaxDosePerPeriod = PerDay(2, "mg") }), 2m, UpTo: true, DoseDerivation.PrnMaximum),
        ["Lorazepam_2mg_q6h_prn_at_most_1mg_per_dose_is_up_to_4_mg"] =
            new(Lorazepam(Dose(2, "mg", Every(1, 6, "h"), prn: true) with { MaxDosePerAdministration = Q(1, "mg") }), 4m, UpTo: true),
        ["Lorazepam_0_5mg_tablet_q4h_prn_max_4_tablets_per_24h_is_up_to_2_mg"] =
            new(Coded("197900", null, Dose(1, "{tbl}", Every(1, 4, "h"), prn: true) with { MaxDosePerPeriod = new RatioFact(Q(4, "{tbl}"), Q(24, "h")) }), 2m, UpTo: true),

        // frequencyMax / periodMax count the most doses.
        ["Lorazepam_1mg_2_to_3_times_a_day_is_up_to_3_mg"] =
            new(Lorazepam(Dose(1, "mg", Every(2, 1, "d", frequencyMax: 3))), 3m, UpTo: true, DoseDerivation.FrequencyMaximum),
        ["Lorazepam_1mg_every_4_to_6_hours_is_up_to_6_mg"] =
            new(Lorazepam(Dose(1, "mg", Every(1, 4, "h", periodMax: 6))), 6m, UpTo: true, DoseDerivation.FrequencyMaximum),

        // timing.event.
        ["Lorazepam_2mg_single_scheduled_event_is_2_mg"] = new(Lorazepam(Dose(2, "mg", Events(1))), 2m),

        // The article's Table 2 rows, written as the article writes them (text only).
        ["Table2_patient01_Clonazepam_0_5_mg_TID_is_1_5_mg"] = new(Named("Clonazepam", Sig("0.5 mg TID")), 1.5m, Derivation: DoseDerivation.ParsedText),
        ["Table2_patient01_Lamotrigine_250_mg_per_day_is_250_mg"] = new(Named("Lamotrigine", Sig("250 mg/day")), 250m),
        ["Table2_patient02_Lamotrigine_25_mg_per_day_is_25_mg"] = new(Named("Lamotrigine", Sig("25 mg/day")), 25m),
        ["Table2_patient03_Lorazepam_2_mg_per_day_is_2_mg"] = new(Named("Lorazepam", Sig("2 mg/day")), 2m),
        ["Table2_patient04_Alprazolam_1_5_mg_per_day_is_1_5_mg"] = new(Named("Alprazolam", Sig("1.5 mg/day")), 1.5m),
        ["Table2_patient05_Clonazepam_0_5_mg_BID_is_1_mg"] = new(Named("Clonazepam", Sig("0.5 mg BID")), 1m),
        ["Table2_patient05_Lamotrigine_150_mg_per_day_is_150_mg"] = new(Named("Lamotrigine", Sig("150 mg/day")), 150m),
        ["Table2_patient07_Lamotrigine_125_mg_BID_is_250_mg"] = new(Named("Lamotrigine", Sig("125 mg BID")), 250m),
        ["Table2_patient08_Lamotrigine_225_mg_BID_is_450_mg"] = new(Named("Lamotrigine", Sig("225 mg BID")), 450m),
        ["Table2_patient08_Clonazepam_1_mg_per_day_is_1_mg"] = new(Named("Clonazepam", Sig("1 mg/day")), 1m),
        ["Table2_patient10_Lamotrigine_200_mg_per_day_is_200_mg"] = new(Named("Lamotrigine", Sig("200 mg/day")), 200m),
        ["Table2_patient11_Lamotrigine_100_mg_QAM_200_mg_QHS_is_300_mg"] = new(Named("Lamotrigine", Sig("100 mg QAM, 200 mg QHS")), 300m),
        ["Table2_patient13_Clonazepam_2_mg_per_day_is_2_mg"] = new(Named("Clonazepam", Sig("2 mg/day")), 2m),
        ["Table2_patient13_Lamotrigine_50_mg_per_day_is_50_mg"] = new(Named("Lamotrigine", Sig("50 mg/day")), 50m),
        ["Table2_style_name_and_sig_in_medication_text_Clonazepam_0_5_mg_TID_is_1_5_mg"] = new(Named("Clonazepam (0.5 mg TID)"), 1.5m),
        ["Table2_style_Lamotrigine_100_mg_QAM_200_mg_QHS_in_medication_text_is_300_mg"] = new(Named("Lamotrigine (100 mg QAM, 200 mg QHS)"), 300m),
        ["Table2_style_en_dash_range_Lorazepam_0_5_to_1_mg_TID_is_up_to_3_mg"] = new(Named("Lorazepam", Sig("0.5–1 mg TID")), 3m, UpTo: true, DoseDerivation.RangeHighEnd),

        // Free-text sigs.
        ["Clonazepam_0_5mg_tablet_1_tab_bid_prn_anxiety_is_up_to_1_mg"] = new(Coded("197527", null, Sig("1 tab bid prn anxiety")), 1m, UpTo: true, DoseDerivation.PrnMaximum),
        ["Lorazepam_1mg_tablet_then_1_tab_bid_takes_strength_from_the_sig_is_2_mg"] = new(Named("lorazepam", Sig("lorazepam 1 mg tablet, 1 tab bid")), 2m),
        ["Clonazepam_1mg_tablet_half_tablet_by_mouth_three_times_a_day_is_1_5_mg"] = new(Coded("197528", null, Sig("Take 1/2 tablet by mouth three times a day")), 1.5m),
        ["Clonazepam_2mg_tablet_unicode_half_tab_qhs_is_1_mg"] = new(Coded("197529", null, Sig("½ tab qhs")), 1m),
        ["Lorazepam_1mg_tablet_one_tablet_twice_daily_is_2_mg"] = new(Coded("197901", null, Sig("one tablet twice daily")), 2m),
        ["Lorazepam_1mg_tablet_1_to_2_tablets_every_4_to_6_hours_prn_not_over_4mg_a_day_is_up_to_4_mg"] =
            new(Coded("197901", null, Sig("1 to 2 tablets every 4 to 6 hours as needed, do not exceed 4 mg/day")), 4m, UpTo: true, DoseDerivation.PrnMaximum),
        ["Lorazepam_0_5mg_tablet_1_tablet_q4h_prn_max_3_tablets_per_day_is_up_to_1_5_mg"] =
            new(Coded("197900", null, Sig("1 tablet q4h prn, max 3 tablets per day")), 1.5m, UpTo: true),
        ["Lorazepam_0_5mg_tablet_1_tab_up_to_3_times_a_day_as_needed_is_up_to_1_5_mg"] =
            new(Coded("197900", null, Sig("1 tab up to 3 times a day as needed")), 1.5m, UpTo: true),
        ["Lorazepam_0_5mg_q6h_PRN_anxiety_is_up_to_2_mg"] = new(Named("Lorazepam", Sig("0.5 mg q6h PRN anxiety")), 2m, UpTo: true),
        ["Lorazepam_1mg_q4_6h_prn_is_up_to_6_mg"] = new(Named("Lorazepam", Sig("1 mg q4-6h prn")), 6m, UpTo: true),
        ["Lorazepam_1_to_2mg_every_6_hours_is_up_to_8_mg"] = new(Named("Lorazepam", Sig("1-2 mg every 6 hours")), 8m, UpTo: true),
        ["Lorazepam_1mg_every_8_hours_text_is_3_mg"] = new(Named("Lorazepam", Sig("1 mg every 8 hours")), 3m),
        ["Clonazepam_2mg_at_bedtime_is_2_mg"] = new(Named("Clonazepam", Sig("2 mg at bedtime")), 2m),
        ["Clonazepam_1mg_in_the_morning_is_1_mg"] = new(Named("Clonazepam", Sig("1 mg in the morning")), 1m),
        ["Clonazepam_0_5mg_three_times_a_day_is_1_5_mg"] = new(Named("Clonazepam", Sig("0.5 mg three times a day")), 1.5m),
        ["Lorazepam_1mg_QID_text_is_4_mg"] = new(Named("Lorazepam", Sig("1 mg QID")), 4m),
        ["Alprazolam_0_25mg_QD_text_is_0_25_mg"] = new(Named("Alprazolam", Sig("0.25 mg QD")), 0.25m),
        ["Clonazepam_500mcg_twice_daily_is_1_mg"] = new(Named("Clonazepam", Sig("500 mcg twice daily")), 1m),
        ["Lorazepam_1mg_once_daily_is_1_mg"] = new(Named("Lorazepam", Sig("1 mg once daily")), 1m),
        ["Lorazepam_1mg_per_day_in_words_is_1_mg"] = new(Named("Lorazepam", Sig("1 mg per day")), 1m),
        ["Lorazepam_1mg_a_day_is_1_mg"] = new(Named("Lorazepam", Sig("1 mg a day")), 1m),
        ["Diazepam_10mg_every_other_day_is_5_mg"] = new(Named("Diazepam", Sig("10 mg every other day")), 5m),
        ["Ativan_1mg_tid_by_brand_name_is_3_mg"] = new(Named("Ativan", Sig("1 mg tid")), 3m),
        ["Lorazepam_2mg_per_mL_0_5mL_TID_text_is_3_mg"] = new(Coded("311376", null, Sig("0.5 mL TID")), 3m),
        ["Lorazepam_1mg_tablet_1_tab_in_the_morning_and_2_at_bedtime_is_3_mg"] =
            new(Coded("197901", null, Sig("1 tab in the morning and 2 at bedtime")), 3m),
        ["Clonazepam_0_5mg_tablet_1_tab_in_the_morning_and_at_bedtime_is_1_mg"] =
            new(Coded("197527", null, Sig("1 tab in the morning and at bedtime")), 1m),
        ["Lorazepam_text_dose_0_5mg_with_structured_TID_code_is_1_5_mg"] =
            new(Lorazepam(new DosageFact { Text = "0.5 mg", Timing = Code("TID") }), 1.5m),

        // Must stay unknown: never zero, never a guess.
        ["Lorazepam_1mg_with_no_frequency_is_unknown"] = new(Lorazepam(Dose(1, "mg", null)), null),
        ["Lorazepam_sig_0_5mg_alone_has_no_frequency_and_is_unknown"] = new(Named("Lorazepam", Sig("0.5 mg")), null),
        ["Lorazepam_10_drops_structured_is_unknown_unit"] = new(Lorazepam(Dose(10, "drop", Code("QD"))), null),
        ["Lorazepam_10_drops_daily_text_is_unknown_unit"] = new(Named("Lorazepam", Sig("10 drops daily")), null),
        ["Clonazepam_take_as_directed_is_unknown"] = new(Named("Clonazepam", Sig("take as directed")), null),
        ["Lorazepam_1mg_prn_anxiety_with_no_maximum_is_unknown"] = new(Named("Lorazepam", Sig("1 mg prn anxiety")), null),
        ["Clonazepam_0_5mg_prn_structured_with_no_frequency_or_maximum_is_unknown"] = new(Clonazepam(Dose(0.5m, "mg", null, prn: true)), null),
        ["Clonazepam_gibberish_sig_is_unknown"] = new(Named("Clonazepam", Sig("xq zzv blorp")), null),
        ["Clonazepam_1_tab_bid_with_no_known_strength_is_unknown"] = new(Named("Clonazepam", Sig("1 tab bid")), null),
        ["Lorazepam_bare_product_name_as_sig_is_unknown"] = new(Named("Lorazepam", Sig("lorazepam 2 MG/ML Oral Solution")), null),
        ["Lorazepam_taper_2mg_daily_for_7_days_then_1mg_daily_is_unknown"] = new(Named("Lorazepam", Sig("2 mg daily for 7 days then 1 mg daily")), null),
        ["Clonazepam_contradictory_bid_tid_is_unknown"] = new(Named("Clonazepam", Sig("0.5 mg bid tid")), null),
        ["Clonazepam_stop_0_5mg_TID_is_unknown"] = new(Named("Clonazepam", Sig("stop clonazepam 0.5 mg TID")), null),
        ["Lorazepam_1mg_prn_max_2mg_without_period_is_unknown"] = new(Named("Lorazepam", Sig("1 mg q6h prn, max 2 mg")), null),
        ["Lorazepam_weight_based_0_05mg_per_kg_q6h_is_unknown"] = new(Named("Lorazepam", Sig("0.05 mg/kg q6h")), null),
        ["Diazepam_nasal_spray_known_only_per_mL_1_spray_is_unknown"] = new(Coded("2272613", null, Dose(1, "{spray}", Code("QD"))), null),
        ["Lamotrigine_titration_pack_with_several_strengths_1_tablet_daily_is_unknown"] =
            new(Coded("900866", null, Dose(1, "{tbl}", Code("QD"))), null),
        ["Lorazepam_three_scheduled_events_without_dates_is_unknown"] = new(Lorazepam(Dose(1, "mg", Events(3))), null),
        ["Lorazepam_medication_text_only_name_is_unknown"] = new(Named("Lorazepam"), null),
        ["Lorazepam_PRN_dose_range_with_no_frequency_or_maximum_is_unknown"] = new(Lorazepam(Range(0.5m, 1, "mg", null, prn: true)), null),
    };

    public static TheoryData<string> Scenarios()
    {
        var data = new TheoryData<string>();
        foreach (var name in Cases.Keys)
        {
            data.Add(name);
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(Scenarios))]
    public void Daily_dose(string scenario)
    {
        var expected = Cases[scenario];
        var recognized = Classifier.Classify(expected.Medication);
        Assert.NotNull(recognized);

        var dose = Calculator.Calculate(recognized);

        if (expected.MgPerDay is null)
        {
            Assert.Null(dose.MgPerDay);
            Assert.False(dose.IsKnown);
            Assert.False(string.IsNullOrWhiteSpace(dose.UnknownReason), "an unknown dose must say why");
            return;
        }

        Assert.True(dose.UnknownReason is null, $"unexpected unknown: {dose.UnknownReason}");
        Assert.Equal(expected.MgPerDay, dose.MgPerDay);
        Assert.Equal(expected.UpTo, dose.IsUpTo);
        Assert.NotEmpty(dose.Derivations);
        Assert.False(string.IsNullOrWhiteSpace(dose.Calculation));
        if (expected.Derivation is { } derivation)
        {
            Assert.Contains(derivation, dose.Derivations);
        }

        if (expected.ScheduledMgPerDay is { } scheduled)
        {
            Assert.Equal(scheduled, dose.ScheduledMgPerDay);
        }
    }

    [Fact]
    public void A_finished_taper_step_is_left_out_as_of_today_leaving_1_mg_a_day()
    {
        var now = new DateTimeOffset(2025, 6, 1, 0, 0, 0, TimeSpan.Zero);
        var ended = Dose(2, "mg", Every(1, 1, "d") with { BoundsEnd = now.AddDays(-3) });
        var current = Dose(1, "mg", Every(1, 1, "d") with { BoundsEnd = now.AddDays(7) });
        var dose = Calculator.Calculate(Classifier.Classify(Lorazepam(ended, current))!, now);
        Assert.Equal(1m, dose.MgPerDay);
    }

    [Fact]
    public void Every_taper_step_finished_is_unknown_not_zero()
    {
        var now = new DateTimeOffset(2025, 6, 1, 0, 0, 0, TimeSpan.Zero);
        var ended = Dose(2, "mg", Every(1, 1, "d") with { BoundsEnd = now.AddDays(-3) });
        var dose = Calculator.Calculate(Classifier.Classify(Lorazepam(ended))!, now);
        Assert.Null(dose.MgPerDay);
        Assert.NotNull(dose.UnknownReason);
    }

    [Fact]
    public void The_table_has_at_least_60_cases_including_unknowns()
    {
        Assert.True(Cases.Count >= 60, $"{Cases.Count} cases");
        Assert.True(Cases.Values.Count(c => c.MgPerDay is null) >= 10);
    }
}
