using KetamineCds.Clinical.Dosing;
using KetamineCds.Clinical.Medications;
using KetamineCds.Clinical.Rules;
using KetamineCds.Tests.Knowledge;

namespace KetamineCds.Tests.Medications;

/// <summary>
/// Duplicates count once; concurrent therapies of one drug add up and say so (issue 7, item 4). The chart of the
/// issue went from 13.75 to 59.5 mg/day lorazepam equivalents as copies of the same MedicationStatement were added.
/// </summary>
public sealed class TherapyReconcilerTests
{
    private static readonly DateTimeOffset Start = new(2024, 3, 1, 0, 0, 0, TimeSpan.Zero);
    private static int _next;

    private static MedicationFact Entry(string name, decimal mg, string timingCode, bool prn = false, MedicationSource source = MedicationSource.Statement,
        DateTimeOffset? start = null, DateTimeOffset? end = null, bool dated = true, string? route = null) => new()
    {
        Reference = $"{(source == MedicationSource.Statement ? "MedicationStatement" : "MedicationRequest")}/copy-{Interlocked.Increment(ref _next)}",
        Source = source,
        Status = "active",
        Texts = [name],
        Route = route,
        EffectiveStart = dated ? start ?? Start : null,
        EffectiveEnd = dated ? end : null,
        Dosages = [new DosageFact
        {
            Text = $"{mg} mg {timingCode}{(prn ? " prn" : "")}",
            Dose = new QuantityFact(mg, "mg", "mg"),
            Timing = new TimingFact { Codes = [new CodeFact("http://terminology.hl7.org/CodeSystem/v3-GTSAbbreviation", timingCode, null)] },
            AsNeeded = prn,
            Route = route,
        }],
    };

    private static IReadOnlyList<Therapy> Reconcile(params MedicationFact[] facts) =>
        TherapyReconciler.Reconcile(facts.Select(f => TestKnowledge.Classifier.Classify(f)!), new DailyDoseCalculator(new NoSigs()));

    /// <summary>clonazepam 2 mg TID (6 mg = 12 LE, Ashton 0.5) + alprazolam 0.25 mg TID (0.75 mg = 1.5 LE) + lorazepam 0.25 mg daily (0.25 LE) = 13.75.</summary>
    private static MedicationFact[] Chart() =>
        [Entry("clonazepam", 2, "TID"), Entry("alprazolam", 0.25m, "TID"), Entry("lorazepam", 0.25m, "QD")];

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    [InlineData(5)]
    public void Copies_of_the_same_statements_with_new_ids_keep_the_chart_at_13_75_mg_per_day(int copies)
    {
        var facts = Enumerable.Range(0, copies).SelectMany(_ => Chart()).ToArray();
        var assessment = BenzodiazepineRule.Assess(Reconcile(facts), TestKnowledge.Knowledge)!;
        Assert.Equal(13.75m, assessment.TotalPrimary);
        Assert.Equal(3, assessment.Lines.Count);
        Assert.All(assessment.Lines, l => Assert.Equal(copies, l.Therapy.Entries.Count));
    }

    [Fact]
    public void Three_copies_say_they_were_merged_without_printing_FHIR_ids()
    {
        var therapy = Assert.Single(Reconcile(Entry("clonazepam", 0.5m, "BID"), Entry("clonazepam", 0.5m, "BID"), Entry("clonazepam", 0.5m, "BID")));
        Assert.Equal(1m, therapy.Dose.MgPerDay);
        Assert.Equal(3, therapy.DuplicateEntries);
        Assert.False(therapy.Concurrent);
        Assert.Equal("3 medication statements record the same therapy (same dose, timing and dates) and are counted once", therapy.ReconciliationNote);
        Assert.DoesNotContain("MedicationStatement/", therapy.ReconciliationNote, StringComparison.Ordinal);
    }

    [Fact]
    public void The_same_therapy_as_a_statement_and_two_prescription_copies_counts_once()
    {
        var therapy = Assert.Single(Reconcile(
            Entry("clonazepam", 1, "BID"),
            Entry("clonazepam", 1, "BID", source: MedicationSource.Request),
            Entry("clonazepam", 1, "BID", source: MedicationSource.Request)));
        Assert.Equal(2m, therapy.Dose.MgPerDay);
        Assert.Equal(3, therapy.Entries.Count);
        Assert.Equal(MedicationSource.Request, therapy.Primary.Fact.Source);
    }

    [Fact]
    public void A_scheduled_and_an_as_needed_clonazepam_are_concurrent_and_add_up()
    {
        // clonazepam 0.5 mg BID (1 mg/day) + 0.5 mg daily as needed (up to 0.5 mg/day) = 1.5 mg/day = 3 mg LE (Ashton 0.5).
        var therapies = Reconcile(Entry("clonazepam", 0.5m, "BID"), Entry("clonazepam", 0.5m, "QD", prn: true));
        Assert.Equal(2, therapies.Count);
        Assert.All(therapies, t => Assert.True(t.Concurrent));
        var scheduled = therapies.Single(t => t.Dose.MgPerDay == 1m);
        var asNeeded = therapies.Single(t => t.Dose.MgPerDay == 0.5m);
        Assert.Equal("concurrent with 1 other clonazepam therapy of a different dose or schedule (up to 0.5 mg/day, as needed); each is counted", scheduled.ReconciliationNote);
        Assert.Equal("concurrent with 1 other clonazepam therapy of a different dose or schedule (1 mg/day); each is counted", asNeeded.ReconciliationNote);
        Assert.Equal(3m, BenzodiazepineRule.Assess(therapies, TestKnowledge.Knowledge)!.TotalPrimary);
    }

    [Fact]
    public void A_scheduled_report_and_an_as_needed_prescription_are_not_paired_as_one_therapy()
    {
        var therapies = Reconcile(Entry("clonazepam", 0.5m, "BID"), Entry("clonazepam", 0.5m, "QD", prn: true, source: MedicationSource.Request));
        Assert.Equal(2, therapies.Count);
        Assert.Equal(1.5m, therapies.Sum(t => t.Dose.MgPerDay));
    }

    [Theory]
    [InlineData(1, "BID", "TID")]   // same dose, different schedule
    [InlineData(2, "BID", "BID")]   // different dose (the second is 2 mg)
    public void Different_doses_or_schedules_of_one_drug_are_not_copies(decimal secondMg, string first, string second)
    {
        var therapies = Reconcile(Entry("lorazepam", 1, first), Entry("lorazepam", secondMg, second));
        Assert.Equal(2, therapies.Count);
        Assert.All(therapies, t => Assert.Single(t.Entries));
    }

    [Fact]
    public void The_same_dose_by_another_route_is_not_a_copy() =>
        Assert.Equal(2, Reconcile(Entry("lorazepam", 1, "BID"), Entry("lorazepam", 1, "BID", route: "intravenous")).Count);

    [Fact]
    public void Entries_whose_dates_do_not_overlap_are_not_copies() =>
        Assert.Equal(2, Reconcile(
            Entry("lorazepam", 1, "BID", end: Start.AddDays(30)),
            Entry("lorazepam", 1, "BID", start: Start.AddDays(60))).Count);

    [Fact]
    public void Identical_entries_without_any_date_are_both_counted_and_the_note_says_why()
    {
        var therapies = Reconcile(Entry("lorazepam", 1, "BID", dated: false), Entry("lorazepam", 1, "BID", dated: false));
        Assert.Equal(2, therapies.Count);
        Assert.All(therapies, t => Assert.Contains("no dates show whether they are one therapy recorded twice; each is counted", t.ReconciliationNote, StringComparison.Ordinal));
    }

    [Fact]
    public void Copies_with_an_unknown_dose_are_one_line_not_two()
    {
        MedicationFact NoDose() => Entry("diazepam", 1, "QD") with { Dosages = [new DosageFact { Text = "as directed" }] };
        var therapy = Assert.Single(Reconcile(NoDose(), NoDose()));
        Assert.Null(therapy.Dose.MgPerDay);
        Assert.Equal(2, therapy.DuplicateEntries);
    }

    private sealed class NoSigs : ISigTextParser
    {
        public SigVocabulary Vocabulary => TestKnowledge.Knowledge.Sig;

        public SigParseResult Parse(string text) => new([], text);
    }
}
