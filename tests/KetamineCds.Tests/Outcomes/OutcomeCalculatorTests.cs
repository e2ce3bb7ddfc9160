using KetamineCds.Clinical.Outcomes;
using KetamineCds.Fhir.Facts;
using KetamineCds.Fhir.Knowledge;

namespace KetamineCds.Tests.Outcomes;

public sealed class OutcomeCalculatorTests
{
    private static readonly OutcomeDefinitions Definitions = AssessmentReader.LoadDefinitions(KnowledgeLoader.ReadArtifacts());
    private static readonly OutcomeCalculator Calculator = new(Definitions);
    private static readonly DateTimeOffset Day0 = new(2021, 6, 2, 10, 0, 0, TimeSpan.Zero);

    private static int _next;

    private static AssessmentScore Qids(double days, decimal score) =>
        new($"Observation/q{Interlocked.Increment(ref _next)}", AssessmentKind.QidsSr16, Day0.AddDays(days), score);

    private static AssessmentScore Cadss(double days, decimal score) =>
        new($"Observation/c{Interlocked.Increment(ref _next)}", AssessmentKind.Cadss, Day0.AddDays(days), score);

    private static DateTimeOffset[] Treatments(params double[] days) => days.Select(d => Day0.AddDays(d)).ToArray();

    [Fact]
    public void Definitions_come_from_the_assessment_CodeSystem_as_the_article_defines_them()
    {
        Assert.Equal(50m, Definitions.ResponseMinPercentReduction);
        Assert.Equal(5m, Definitions.RemissionMaxScore);
        Assert.Equal(new ScoreRange(0, 27), Definitions.QidsRange);
        Assert.Equal(new ScoreRange(0, 92), Definitions.CadssRange);
    }

    [Fact]
    public void Response_and_remission_reached_mid_course_count_at_some_point_even_when_the_latest_score_relapses()
    {
        // QIDS-SR 20 at baseline, 10 (50% down: response) then 4 (remission), then back to 14 on the latest score.
        var summary = Calculator.Summarize([Qids(-1, 20), Qids(1, 10), Qids(3, 4), Qids(5, 14)], Treatments(0, 2, 4));

        Assert.False(summary.Qids.Response);
        Assert.False(summary.Qids.Remission);
        Assert.True(summary.Qids.ResponseAtAnyPoint);
        Assert.True(summary.Qids.RemissionAtAnyPoint);
    }

    [Fact]
    public void A_single_score_reaches_neither_response_nor_remission_at_any_point()
    {
        var summary = Calculator.Summarize([Qids(-1, 3)], Treatments(0));

        Assert.Null(summary.Qids.ResponseAtAnyPoint);
        Assert.Null(summary.Qids.RemissionAtAnyPoint);
    }

    [Fact]
    public void Baseline_is_the_last_score_before_the_first_treatment_and_the_series_follows_each_treatment()
    {
        var early = Qids(-10, 22);
        var baseline = Qids(-0.1, 18);
        var afterFirst = Qids(1, 12);
        var beforeSecond = Qids(1.9, 14);
        var afterSecond = Qids(3, 9);

        var summary = Calculator.Summarize([afterSecond, early, afterFirst, baseline, beforeSecond], Treatments(2, 0));

        var qids = summary.Qids;
        Assert.Same(baseline, qids.BaselineScore);
        Assert.Equal(BaselineBasis.LastBeforeFirstTreatment, qids.BaselineBasis);
        Assert.Same(afterSecond, qids.LatestScore);
        Assert.Equal(-50.0m, qids.PercentChange);
        Assert.True(qids.Response);
        Assert.False(qids.Remission);
        Assert.Equal(5, qids.Count);
        Assert.Collection(
            qids.Series,
            p => { Assert.Equal(1, p.TreatmentNumber); Assert.Same(afterFirst, p.Score); Assert.Equal(-33.3m, p.PercentChange); },
            p => { Assert.Equal(2, p.TreatmentNumber); Assert.Same(afterSecond, p.Score); Assert.Equal(-50.0m, p.PercentChange); });
    }

    [Fact]
    public void A_score_at_the_same_instant_as_the_first_treatment_counts_as_the_baseline()
    {
        var atTreatment = Qids(0, 20);
        var summary = Calculator.Summarize([Qids(-5, 25), atTreatment, Qids(1, 15)], Treatments(0));
        Assert.Same(atTreatment, summary.Qids.BaselineScore);
        Assert.Equal(-25.0m, summary.Qids.PercentChange);
    }

    [Theory]
    [InlineData(20, 10, -50.0, true)] // exactly 50%: a response
    [InlineData(20, 11, -45.0, false)]
    [InlineData(27, 14, -48.1, false)] // 48.15% falls short
    [InlineData(27, 13, -51.9, true)]
    [InlineData(10, 12, 20.0, false)] // worse
    public void Response_is_a_reduction_of_at_least_50_percent_from_baseline(int baseline, int latest, double change, bool response)
    {
        var summary = Calculator.Summarize([Qids(-1, baseline), Qids(1, latest)], Treatments(0));
        Assert.Equal((decimal)change, summary.Qids.PercentChange);
        Assert.Equal(response, summary.Qids.Response);
    }

    [Theory]
    [InlineData(5, true)] // exactly 5: remission
    [InlineData(6, false)]
    [InlineData(0, true)]
    public void Remission_is_a_latest_QIDS_SR_of_5_or_less(int latest, bool remission)
    {
        var summary = Calculator.Summarize([Qids(-1, 16), Qids(1, latest)], Treatments(0));
        Assert.Equal(remission, summary.Qids.Remission);
    }

    [Fact]
    public void Tied_baseline_scores_take_the_lower_so_the_reduction_is_not_overstated()
    {
        // 16 and 20 recorded at the same instant: from 20 the drop to 8 would be 60%; from 16 it is 50%.
        var low = Qids(-1, 16);
        var high = Qids(-1, 20);
        var summary = Calculator.Summarize([high, low, Qids(1, 8)], Treatments(0));
        Assert.Same(low, summary.Qids.BaselineScore);
        Assert.Equal(-50.0m, summary.Qids.PercentChange);
    }

    [Fact]
    public void Tied_latest_scores_take_the_higher_so_remission_is_not_overstated()
    {
        var five = Qids(3, 5);
        var seven = Qids(3, 7);
        var summary = Calculator.Summarize([Qids(-1, 20), five, seven], Treatments(0));
        Assert.Same(seven, summary.Qids.LatestScore);
        Assert.False(summary.Qids.Remission);
        Assert.Equal(-65.0m, summary.Qids.PercentChange);
    }

    [Fact]
    public void Tied_scores_after_a_treatment_give_the_series_the_higher()
    {
        var summary = Calculator.Summarize([Qids(-1, 20), Qids(1, 9), Qids(1, 12)], Treatments(0));
        Assert.Equal(12m, Assert.Single(summary.Qids.Series).Score.Score);
    }

    [Fact]
    public void Only_tied_scores_at_one_instant_give_no_change()
    {
        var summary = Calculator.Summarize([Qids(1, 9), Qids(1, 12)], []);
        Assert.Equal(9m, summary.Qids.Baseline);
        Assert.Equal(12m, summary.Qids.Latest);
        Assert.Null(summary.Qids.PercentChange);
        Assert.Null(summary.Qids.Response);
        Assert.Null(summary.Qids.Remission);
    }

    [Fact]
    public void A_single_score_is_reported_without_change_response_or_remission()
    {
        var only = Qids(-1, 4);
        var summary = Calculator.Summarize([only], Treatments(0));
        Assert.Same(only, summary.Qids.BaselineScore);
        Assert.Same(only, summary.Qids.LatestScore);
        Assert.Null(summary.Qids.PercentChange);
        Assert.Null(summary.Qids.Response);
        Assert.Null(summary.Qids.Remission); // a pre-treatment 4 is not a remission on treatment
        Assert.Equal(1, summary.Qids.Count);
        Assert.Empty(summary.Qids.Series);
    }

    [Fact]
    public void Without_a_score_before_treatment_the_earliest_is_the_baseline_and_says_so()
    {
        var first = Qids(1, 18);
        var summary = Calculator.Summarize([Qids(5, 9), first], Treatments(0, 4));
        Assert.Same(first, summary.Qids.BaselineScore);
        Assert.Equal(BaselineBasis.EarliestAfterTreatmentStarted, summary.Qids.BaselineBasis);
        Assert.Equal(-50.0m, summary.Qids.PercentChange);
    }

    [Fact]
    public void Without_treatment_dates_the_earliest_score_is_the_baseline()
    {
        var first = Qids(-30, 20);
        var summary = Calculator.Summarize([Qids(0, 15), first, Qids(10, 5)], []);
        Assert.Same(first, summary.Qids.BaselineScore);
        Assert.Equal(BaselineBasis.EarliestNoTreatmentDates, summary.Qids.BaselineBasis);
        Assert.Equal(-75.0m, summary.Qids.PercentChange);
        Assert.True(summary.Qids.Response);
        Assert.True(summary.Qids.Remission);
        Assert.Empty(summary.Qids.Series);
    }

    [Fact]
    public void A_baseline_of_zero_gives_no_percent_change_or_response_but_remission_is_still_judged()
    {
        var summary = Calculator.Summarize([Qids(-1, 0), Qids(1, 3)], Treatments(0));
        Assert.Null(summary.Qids.PercentChange);
        Assert.Null(summary.Qids.Response);
        Assert.True(summary.Qids.Remission);
        Assert.Null(Assert.Single(summary.Qids.Series).PercentChange);
    }

    [Fact]
    public void No_QIDS_scores_give_an_empty_QIDS_summary()
    {
        var summary = Calculator.Summarize([Cadss(0.01, 10)], Treatments(0));
        Assert.Null(summary.Qids.Baseline);
        Assert.Null(summary.Qids.Latest);
        Assert.Null(summary.Qids.PercentChange);
        Assert.Null(summary.Qids.Response);
        Assert.Null(summary.Qids.Remission);
        Assert.Equal(0, summary.Qids.Count);
        Assert.True(summary.HasScores);
    }

    [Fact]
    public void Out_of_range_scores_are_excluded_counted_and_never_used_as_baseline()
    {
        var impossible = Qids(-2, 31);
        var summary = Calculator.Summarize(
            [impossible, Qids(-1, 20), Qids(1, 10), Cadss(0.01, 93), Cadss(1.01, -1), Cadss(2.01, 6)],
            Treatments(0, 1.01, 2.01));

        Assert.Equal(20m, summary.Qids.Baseline);
        Assert.Equal(2, summary.Qids.Count);
        Assert.Equal(6m, summary.Cadss.Mean);
        Assert.Equal(1, summary.Cadss.Count);
        Assert.Equal(3, summary.ExcludedCount);
        Assert.All(summary.Excluded, e => Assert.Equal(ExclusionReason.OutOfRange, e.Reason));
        Assert.Contains(summary.Excluded, e => e.Reference == impossible.Reference && e.Detail == "score 31 is outside 0-27");
    }

    [Fact]
    public void Exclusions_from_the_FHIR_edge_are_reported_with_the_calculator_exclusions()
    {
        var invalid = new ExcludedScore("Observation/x", AssessmentKind.QidsSr16, ExclusionReason.FailedValidation, "error: Missing required member: 'subject'");
        var summary = Calculator.Summarize([Qids(-1, 40), Qids(1, 10)], Treatments(0), [invalid]);
        Assert.Equal(2, summary.ExcludedCount);
        Assert.Equal(1, summary.ExcludedByReason[ExclusionReason.FailedValidation]);
        Assert.Equal(1, summary.ExcludedByReason[ExclusionReason.OutOfRange]);
    }

    [Fact]
    public void CADSS_mean_and_latest_with_ties_taking_the_higher()
    {
        var summary = Calculator.Summarize([Cadss(2.01, 11), Cadss(0.01, 4), Cadss(1.01, 2), Cadss(2.01, 13)], Treatments(0, 1, 2));
        Assert.Equal(7.5m, summary.Cadss.Mean);
        Assert.Equal(13m, summary.Cadss.Latest);
        Assert.Equal(4, summary.Cadss.Count);
    }

    [Fact]
    public void CADSS_mean_is_rounded_to_two_decimals()
    {
        var summary = Calculator.Summarize([Cadss(0, 1), Cadss(1, 2), Cadss(2, 2)], []);
        Assert.Equal(1.67m, summary.Cadss.Mean);
    }

    [Fact]
    public void Treatments_without_a_following_score_have_no_series_point_and_numbering_is_kept()
    {
        var summary = Calculator.Summarize([Qids(-1, 20), Qids(2.5, 14)], Treatments(0, 1, 2, 2)); // duplicate date counted once
        var point = Assert.Single(summary.Qids.Series);
        Assert.Equal(3, point.TreatmentNumber);
        Assert.Equal(Day0.AddDays(2), point.TreatmentDate);
        Assert.Equal(-30.0m, point.PercentChange);
    }

    [Fact]
    public void No_scores_at_all_give_an_empty_summary()
    {
        var summary = Calculator.Summarize([], Treatments(0));
        Assert.False(summary.HasScores);
        Assert.Equal(0, summary.ExcludedCount);
        Assert.Null(summary.Cadss.Mean);
        Assert.Null(summary.Cadss.Latest);
    }
}

public sealed class AssessmentKnowledgeTests
{
    [Fact]
    public void The_knowledge_loader_still_loads_with_the_assessment_CodeSystem_profiles_and_examples_embedded()
    {
        var artifacts = KnowledgeLoader.ReadArtifacts();
        Assert.Contains("terminology/CodeSystem-ketamine-cds-assessment.json", artifacts.Keys);
        Assert.Contains("profiles/StructureDefinition-qids-sr16-total-observation.json", artifacts.Keys);
        Assert.NotNull(KnowledgeLoader.Load(artifacts));
    }
}

/// <summary>Response and remission at any point and on the latest score (issue 7 item 7; Joseph et al. 2023, Results 3.2).</summary>
public sealed class OutcomeAtAnyPointTests
{
    private static readonly OutcomeCalculator Calculator = new(AssessmentReader.LoadDefinitions(KnowledgeLoader.ReadArtifacts()));
    private static readonly DateTimeOffset Day0 = new(2021, 6, 2, 10, 0, 0, TimeSpan.Zero);
    private static int _next;

    private static AssessmentScore Qids(double days, decimal score) =>
        new($"Observation/a{Interlocked.Increment(ref _next)}", AssessmentKind.QidsSr16, Day0.AddDays(days), score);

    private static DateTimeOffset[] Treatments(params double[] days) => days.Select(d => Day0.AddDays(d)).ToArray();

    [Fact]
    public void Remission_at_treatment_4_then_relapse_is_remission_at_any_point_but_not_on_the_latest_score()
    {
        var scores = new[] { Qids(-1, 20), Qids(1, 14), Qids(3, 10), Qids(5, 7), Qids(7, 5), Qids(21, 12) };
        var q = Calculator.Summarize(scores, Treatments(0, 2, 4, 6)).Qids;
        Assert.True(q.RemissionAtAnyPoint);
        Assert.True(q.ResponseAtAnyPoint); // 5 is -75% from 20
        Assert.False(q.Remission);         // latest 12
        Assert.False(q.Response);          // -40%
        Assert.Equal(Day0.AddDays(7), q.FirstRemission!.When);
        Assert.Equal(Day0.AddDays(3), q.FirstResponse!.When); // 10 is exactly -50%: a response
        Assert.Equal(4, q.Series.Single(p => p.Score.When == q.FirstRemission.When).TreatmentNumber);
    }

    [Fact]
    public void A_tie_at_one_instant_never_counts_as_remission_at_any_point()
    {
        var q = Calculator.Summarize([Qids(-1, 20), Qids(2, 5), Qids(2, 9), Qids(4, 11)], Treatments(0)).Qids;
        Assert.False(q.RemissionAtAnyPoint); // 5 and 9 at the same instant: the higher is taken
    }

    [Fact]
    public void One_score_judges_nothing_at_any_point()
    {
        var q = Calculator.Summarize([Qids(-1, 4)], Treatments(0)).Qids;
        Assert.Null(q.RemissionAtAnyPoint);
        Assert.Null(q.ResponseAtAnyPoint);
    }
}
