using KetamineCds.Clinical.Medications;
using KetamineCds.Clinical.Rules;
using KetamineCds.Tests.Knowledge;
using static KetamineCds.Tests.Rules.RuleBuilders;

namespace KetamineCds.Tests.Rules;

public sealed class BenzodiazepineRuleTests
{
    private static IReadOnlyList<string> Codes(params MedicationFact[] facts) =>
        BenzodiazepineRule.Evaluate(Therapies(facts), TestKnowledge.Knowledge).Select(f => f.Code).ToList();

    [Fact]
    public void Clonazepam_2mg_daily_reaches_the_4mg_threshold_inclusive() =>
        Assert.Equal([FindingCodes.BenzodiazepineThreshold], Codes(Med("clonazepam", 2)));

    [Fact]
    public void Lorazepam_3_9mg_daily_is_below_the_threshold_under_both_tables() =>
        Assert.Empty(Codes(Med("lorazepam", 3.9m)));

    [Fact]
    public void Clonazepam_1mg_daily_is_borderline_because_VA_DoD_gives_4() =>
        Assert.Equal([FindingCodes.BenzodiazepineBorderline], Codes(Med("clonazepam", 1)));

    [Fact]
    public void Two_benzodiazepines_add_up_in_lorazepam_equivalents()
    {
        // alprazolam 1 mg/day = 2 LE (Ashton 0.5) + diazepam 20 mg/day = 2 LE (Ashton 10) -> 4: threshold.
        var assessment = BenzodiazepineRule.Assess(Therapies(Med("alprazolam", 1), Med("diazepam", 20)), TestKnowledge.Knowledge)!;
        Assert.Equal(4m, assessment.TotalPrimary);
        Assert.Equal(6m, assessment.TotalAlternate); // 1/0.5 + 20/5
    }

    [Fact]
    public void A_site_threshold_replaces_the_article_threshold()
    {
        var findings = BenzodiazepineRule.Evaluate(Therapies(Med("lorazepam", 3)), TestKnowledge.Knowledge, siteThresholdMgPerDay: 3);
        var finding = Assert.Single(findings);
        Assert.Equal(FindingCodes.BenzodiazepineThreshold, finding.Code);
        Assert.True(finding.Assessment.ThresholdIsSiteSetting);
    }

    [Fact]
    public void A_benzodiazepine_with_unknown_dose_is_named_and_never_counted_as_zero()
    {
        var findings = BenzodiazepineRule.Evaluate(Therapies(Med("clonazepam", null)), TestKnowledge.Knowledge);
        var finding = Assert.Single(findings);
        Assert.Equal(FindingCodes.BenzodiazepineDoseUnknown, finding.Code);
        var line = Assert.Single(finding.Assessment.Lines);
        Assert.False(line.Counted);
        Assert.Null(line.LorazepamEquivalentMgPerDay);
        Assert.Contains("could not be determined", line.NotCountedReason, StringComparison.Ordinal);
    }

    [Fact]
    public void Unknown_dose_next_to_a_threshold_total_gives_both_cards() =>
        Assert.Equal([FindingCodes.BenzodiazepineThreshold, FindingCodes.BenzodiazepineDoseUnknown],
            Codes(Med("lorazepam", 4), Med("diazepam", null)));

    [Fact]
    public void Intravenous_lorazepam_is_named_but_not_added_to_the_oral_total()
    {
        var assessment = BenzodiazepineRule.Assess(Therapies(Med("lorazepam", 2, route: "Intravenous"), Med("lorazepam tablet", 1)), TestKnowledge.Knowledge)!;
        Assert.Equal(1m, assessment.TotalPrimary);
        Assert.Contains(assessment.Lines, l => !l.Counted && l.NotCountedReason!.Contains("not oral", StringComparison.Ordinal));
    }

    [Fact]
    public void Midazolam_has_no_oral_equivalence_and_is_named() =>
        Assert.Equal([FindingCodes.BenzodiazepineDoseUnknown], Codes(Med("midazolam", 5)));

    [Fact]
    public void Clobazam_alternate_total_uses_the_primary_factor_and_says_so()
    {
        var line = BenzodiazepineRule.Assess(Therapies(Med("clobazam", 20)), TestKnowledge.Knowledge)!.Lines.Single();
        Assert.True(line.AlternateFactorFromPrimary);
        Assert.Equal(1m, line.LorazepamEquivalentMgPerDayAlternate);
    }

    [Fact]
    public void Zolpidem_is_listed_but_never_added_to_the_benzodiazepine_total()
    {
        var assessment = BenzodiazepineRule.Assess(Therapies(Med("zolpidem", 10), Med("lorazepam", 1)), TestKnowledge.Knowledge)!;
        Assert.Equal(1m, assessment.TotalPrimary);
        Assert.Contains(assessment.Lines, l => l.Therapy.Ingredient.Code == "zolpidem" && !l.Counted);
    }

    [Fact]
    public void Zolpidem_alone_gives_no_benzodiazepine_card() => Assert.Empty(Codes(Med("zolpidem", 10)));

    [Fact]
    public void A_prescription_and_a_report_of_the_same_dose_are_counted_once()
    {
        var assessment = BenzodiazepineRule.Assess(Therapies(
            Med("clonazepam", 1, "BID", MedicationSource.Request),
            Med("clonazepam", 1, "BID", MedicationSource.Statement)), TestKnowledge.Knowledge)!;
        Assert.Equal(4m, assessment.TotalPrimary);
        Assert.Single(assessment.Lines);
    }

    [Fact]
    public void Linked_entries_that_disagree_count_the_higher_dose_and_show_both()
    {
        var request = Med("clonazepam", 1, "QD", MedicationSource.Request);
        var statement = Med("clonazepam", 1, "BID", MedicationSource.Statement, linked: [request.Reference]);
        var line = BenzodiazepineRule.Assess(Therapies(request, statement), TestKnowledge.Knowledge)!.Lines.Single();
        Assert.Equal(2m, line.MgPerDay);
        Assert.Contains("disagree", line.Therapy.ReconciliationNote, StringComparison.Ordinal);
        Assert.Equal(2, line.Therapy.Entries.Count);
    }

    [Fact]
    public void Two_statements_of_the_same_drug_are_separate_therapies_and_add_up()
    {
        var assessment = BenzodiazepineRule.Assess(Therapies(Med("lorazepam", 1), Med("lorazepam", 1)), TestKnowledge.Knowledge)!;
        Assert.Equal(2m, assessment.TotalPrimary);
    }

    [Theory]
    [InlineData("lorazepam", 2, "Intravenous", NotCountedKind.NotOral)]
    [InlineData("midazolam", 5, null, NotCountedKind.NoEquivalence)]
    [InlineData("diazepam", null, null, NotCountedKind.DoseUnknown)]
    public void A_benzodiazepine_not_counted_carries_the_kind_of_reason(string drug, int? mg, string? route, NotCountedKind kind)
    {
        var line = BenzodiazepineRule.Assess(Therapies(Med(drug, mg, route: route)), TestKnowledge.Knowledge)!.Lines.Single();
        Assert.False(line.Counted);
        Assert.Equal(kind, line.NotCountedKind);
        Assert.Equal([FindingCodes.BenzodiazepineDoseUnknown], Codes(Med(drug, mg, route: route)));
    }

    [Fact]
    public void Below_the_threshold_on_patient_view_the_total_gets_its_own_low_key_finding()
    {
        var therapies = Therapies(Med("lorazepam", 1));
        Assert.Equal([FindingCodes.BenzodiazepineBelowThreshold],
            BenzodiazepineRule.Evaluate(therapies, TestKnowledge.Knowledge, showBelowThreshold: true).Select(f => f.Code));
        Assert.Empty(BenzodiazepineRule.Evaluate(therapies, TestKnowledge.Knowledge));
    }

    [Fact]
    public void Below_the_threshold_with_a_dose_unknown_benzodiazepine_the_dose_unknown_card_carries_the_table() =>
        Assert.Equal([FindingCodes.BenzodiazepineDoseUnknown],
            BenzodiazepineRule.Evaluate(Therapies(Med("lorazepam", 1), Med("diazepam", null)), TestKnowledge.Knowledge, showBelowThreshold: true).Select(f => f.Code));

    [Fact]
    public void A_Z_drug_alone_next_to_nothing_counted_raises_no_below_threshold_finding() =>
        Assert.Empty(BenzodiazepineRule.Evaluate(Therapies(Med("zolpidem", 10)), TestKnowledge.Knowledge, showBelowThreshold: true));
}
