using KetamineCds.Clinical.Dosing;
using KetamineCds.Clinical.Knowledge;
using KetamineCds.Clinical.Medications;
using KetamineCds.Clinical.Outcomes;
using KetamineCds.Clinical.Rules;
using KetamineCds.Fhir.Facts;
using KetamineCds.Fhir.Knowledge;
using KetamineCds.Tests.Dosing;
using KetamineCds.Tests.Knowledge;

namespace KetamineCds.Tests.Equivalence;

/// <summary>
/// The faster clinical evaluation (issue 8) gives the same answers as the code it replaced (LegacyClinical.cs,
/// kept verbatim as an oracle): every code and name the knowledge loads classifies the same way, and thousands of
/// generated charts (copies, links, statements with their prescriptions, concurrent and as-needed entries, ended and
/// undated entries, sigs from the sig corpus) reconcile into the same therapies, doses, notes and findings.
/// </summary>
public sealed class EvaluationEquivalenceTests
{
    private static readonly ClinicalKnowledge Knowledge = TestKnowledge.Knowledge;
    private static readonly LegacyClassifier Legacy = new(Knowledge);
    private static readonly DailyDoseCalculator Calculator = new(new SigTextParser(Knowledge.Sig));
    private static readonly DateTimeOffset Now = new(2024, 6, 1, 12, 0, 0, TimeSpan.Zero);
    private const string Gts = "http://terminology.hl7.org/CodeSystem/v3-GTSAbbreviation";

    /// <summary>Every code of every system the knowledge maps, as EHRs spell the system and the code.</summary>
    public static TheoryData<string> CodeKinds => ["rxnorm-product", "rxnorm-ingredient", "rxnorm-value-set", "snomed-product", "snomed-substance", "atc"];

    [Theory]
    [MemberData(nameof(CodeKinds))]
    public void Every_loaded_code_is_recognized_as_before_under_every_spelling_of_its_system(string kind)
    {
        var (codes, systems) = kind switch
        {
            "rxnorm-product" => (Knowledge.Products.Keys, RxNormSystems),
            "rxnorm-ingredient" => (Knowledge.Ingredients.Values.SelectMany(i => i.RxNormCodes), RxNormSystems),
            "rxnorm-value-set" => (Knowledge.RxNormClass.Keys, RxNormSystems),
            "snomed-product" => (Knowledge.Codings.SnomedProducts.Keys, SnomedSystems),
            "snomed-substance" => (Knowledge.Codings.SnomedSubstances.Keys, SnomedSystems),
            _ => (Knowledge.Codings.AtcCodes.Keys.SelectMany(c => new[] { c, c.ToLowerInvariant() }), AtcSystems),
        };
        var checkedCodes = 0;
        foreach (var code in codes)
        {
            foreach (var system in systems.Append(null).Append("http://example.org/local"))
            {
                foreach (var spelled in new[] { code, $" {code} " })
                {
                    AssertSameClassification(Fact([new CodeFact(system, spelled, null)]));
                    // The code on a contained Medication's ingredient, behind an unknown code and a display naming another drug.
                    AssertSameClassification(Fact([new CodeFact(MedicationClassifier.RxNormSystem, "0000000", "sertraline 50 MG Oral Tablet")],
                        ingredients: [new IngredientStrengthFact([new CodeFact(system, spelled, null)], null, null)]));
                    checkedCodes++;
                }
            }
        }

        Assert.True(checkedCodes > 0, $"no {kind} codes were loaded");
    }

    [Fact]
    public void Every_loaded_name_is_recognized_as_before_in_text_displays_and_ingredients()
    {
        var names = Knowledge.Ingredients.Values.SelectMany(i => i.Names.Append(i.Name)).Distinct().ToList();
        Assert.NotEmpty(names);
        foreach (var name in names)
        {
            AssertSameClassification(Fact([], texts: [name]));
            AssertSameClassification(Fact([], texts: [$"{name.ToUpperInvariant()} 1 MG Oral Tablet"]));
            AssertSameClassification(Fact([], texts: [$"x{name}"]));
            AssertSameClassification(Fact([new CodeFact(MedicationClassifier.RxNormSystem, "2598", null), new CodeFact(null, null, $"{name} (home med)")]));
            AssertSameClassification(Fact([new CodeFact(MedicationClassifier.RxNormSystem, "999999", $"{name}")]));
            AssertSameClassification(Fact([], ingredients: [new IngredientStrengthFact([], $"{name} hydrochloride", null)]));
            AssertSameClassification(Fact([], ingredients: [new IngredientStrengthFact([new CodeFact("urn:oid:2.16.840.1.113883.6.88", "1", name)], null, null)]));
        }
    }

    [Fact]
    public void Entries_with_several_codes_of_several_systems_are_recognized_as_before()
    {
        // Codes of every kind in random orders and mixes: which kind wins, and which code within a kind, must not change.
        var pool = Knowledge.Products.Keys.Select(c => (RxNormSystems, c))
            .Concat(Knowledge.Ingredients.Values.SelectMany(i => i.RxNormCodes).Select(c => (RxNormSystems, c)))
            .Concat(Knowledge.RxNormClass.Keys.Select(c => (RxNormSystems, c)))
            .Concat(Knowledge.Codings.SnomedProducts.Keys.Select(c => (SnomedSystems, c)))
            .Concat(Knowledge.Codings.SnomedSubstances.Keys.Select(c => (SnomedSystems, c)))
            .Concat(Knowledge.Codings.AtcCodes.Keys.Select(c => (AtcSystems, c)))
            .Append((RxNormSystems, "0000000"))
            .ToList();
        var random = new Random(20260803);
        for (var i = 0; i < 5000; i++)
        {
            CodeFact Pick()
            {
                var (systems, code) = pool[random.Next(pool.Count)];
                return new CodeFact(systems[random.Next(systems.Length)], code, random.Next(4) == 0 ? Drugs[random.Next(Drugs.Length)] : null);
            }

            var codes = Enumerable.Range(0, random.Next(1, 5)).Select(_ => Pick()).ToList();
            var ingredients = random.Next(3) == 0 ? [new IngredientStrengthFact([Pick(), Pick()], null, null)] : Array.Empty<IngredientStrengthFact>();
            AssertSameClassification(Fact(codes, texts: random.Next(3) == 0 ? [Drugs[random.Next(Drugs.Length)]] : null, ingredients: ingredients));
        }
    }

    [Fact]
    public void Code_systems_are_read_as_before_in_every_spelling()
    {
        foreach (var system in RxNormSystems.Concat(SnomedSystems).Concat(AtcSystems)
                     .Concat([null, "", " ", "urn:oid:", "http://loinc.org", "http://snomed.info/sctx", "http://snomed.info/sct//", "HTTP://SNOMED.INFO/SCT/"]))
        {
            Assert.Equal(LegacyClassifier.LegacySystemOf(system), MedicationClassifier.SystemOf(system));
        }
    }

    [Fact]
    public void Two_thousand_generated_charts_reconcile_into_the_same_therapies_as_before()
    {
        var random = new Random(20260801);
        for (var chart = 0; chart < 2000; chart++)
        {
            var facts = Chart(random);
            var recognized = facts.Select(f => TestKnowledge.Classifier.Classify(f)).OfType<RecognizedMedication>().ToList();
            var expected = LegacyTherapyReconciler.Reconcile(recognized, Calculator, Now);
            var actual = TherapyReconciler.Reconcile(recognized, Calculator, Now);
            AssertSameTherapies(expected, actual, $"chart {chart}");
            Assert.Equal(Describe(LegacyBenzodiazepineRule.Assess(expected, Knowledge, 3m)), Describe(BenzodiazepineRule.Assess(actual, Knowledge, 3m)));
            Assert.Equal(Describe(LegacyBenzodiazepineRule.Assess(expected, Knowledge)), Describe(BenzodiazepineRule.Assess(actual, Knowledge)));
            foreach (var fact in facts)
            {
                Assert.Equal(LegacyDosageSignature.Of(fact), DosageSignature.Of(fact));
            }
        }
    }

    [Theory]
    [InlineData(HookKind.OrderSign)]
    [InlineData(HookKind.OrderSelect)]
    [InlineData(HookKind.PatientView)]
    public void Two_thousand_generated_calls_give_the_same_evaluation_as_before(HookKind hook)
    {
        var settings = new RuleSettings();
        var legacy = new LegacyEvaluator(Knowledge, Legacy, Calculator, settings, new LegacyOutcomeCalculator(Definitions));
        var evaluator = new CdsEvaluator(Knowledge, TestKnowledge.Classifier, Calculator, settings, new OutcomeCalculator(Definitions));
        var random = new Random(20260802 + (int)hook);
        var triggered = 0;
        for (var call = 0; call < 2000; call++)
        {
            var facts = Chart(random);
            var drafts = Enumerable.Range(0, random.Next(0, 3)).Select(_ => Draft(random)).ToList();
            var selections = random.Next(3) == 0 ? drafts.Where(_ => random.Next(2) == 0).Select(d => d.Reference).ToHashSet() : null;
            var data = new PatientData(facts, drafts, selections) { Assessments = random.Next(4) == 0 ? null : Assessments(random) };
            var expected = legacy.Evaluate(hook, data, Now);
            var actual = evaluator.Evaluate(hook, data, Now);
            var context = $"call {call}";
            Assert.Equal(expected.Triggered, actual.Triggered);
            triggered += actual.Triggered ? 1 : 0;
            AssertSameTherapies(expected.Therapies, actual.Therapies, context);
            Assert.Equal(expected.Findings.Select(Describe), actual.Findings.Select(Describe));
            Assert.Equal(expected.KetamineEntries.Select(e => (e.Fact, e.Ingredient.Code, e.Basis)), actual.KetamineEntries.Select(e => (e.Fact, e.Ingredient.Code, e.Basis)));
            Assert.Equal(expected.TreatmentDates, actual.TreatmentDates);
            Assert.Equal(Describe(expected.Outcomes), Describe(actual.Outcomes));
        }

        Assert.InRange(triggered, 200, 2000);
    }

    [Fact]
    public void Five_thousand_generated_score_courses_are_summarized_as_before()
    {
        // Ties at one instant (also in other offsets), scores out of range, treatments before, between and after the
        // scores, repeated treatment dates, no treatments at all, baselines of 0.
        var legacy = new LegacyOutcomeCalculator(Definitions);
        var calculator = new OutcomeCalculator(Definitions);
        var random = new Random(20260804);
        for (var course = 0; course < 5000; course++)
        {
            var scores = Assessments(random).Scores.ToList();
            for (var tie = random.Next(0, 3); tie > 0 && scores.Count > 0; tie--)
            {
                var s = scores[random.Next(scores.Count)];
                scores.Insert(random.Next(scores.Count + 1), s with { Reference = random.Next(2) == 0 ? s.Reference : $"Observation/tie{tie}", Score = random.Next(-2, 95), When = s.When.ToOffset(TimeSpan.FromHours(random.Next(-3, 4))) });
            }

            var treatments = Enumerable.Range(0, random.Next(0, 6)).Select(_ => Now.AddDays(-random.Next(0, 40)).AddHours(random.Next(0, 3) * 6)).ToList();
            if (treatments.Count > 0 && random.Next(3) == 0)
            {
                treatments.Add(treatments[0].ToOffset(TimeSpan.FromHours(2)));
            }

            IReadOnlyList<ExcludedScore>? excluded = random.Next(3) == 0 ? [new ExcludedScore("Observation/bad", AssessmentKind.QidsSr16, ExclusionReason.OutOfRange, "unreadable")] : null;
            Assert.Equal(Describe(legacy.Summarize(scores, treatments, excluded)), Describe(calculator.Summarize(scores, treatments, excluded)));
        }
    }

    private static readonly OutcomeDefinitions Definitions = AssessmentReader.LoadDefinitions(KnowledgeLoader.ReadArtifacts());

    private static string Describe(OutcomeSummary? o) => o is null
        ? "none"
        : $"{o.Qids with { Series = [] }}|{string.Join(";", o.Qids.Series)}|{o.Cadss}|{string.Join(";", o.Excluded)}";

    private static string Describe(BenzodiazepineAssessment? a) => a is null
        ? "none"
        : $"{a.TotalPrimary}|{a.TotalAlternate}|{a.ThresholdMgPerDay}|{a.ThresholdInclusive}|{a.ThresholdIsSiteSetting}|" +
          string.Join(";", a.Lines.Select(l => $"{l.Therapy.Ingredient.Code}:{l.MgPerDay}:{l.PrimaryFactor}:{l.AlternateFactor}:{l.AlternateFactorFromPrimary}:{l.LorazepamEquivalentMgPerDay}:{l.LorazepamEquivalentMgPerDayAlternate}:{l.NotCountedReason}:{l.NotCountedKind}"));

    private static readonly string[] RxNormSystems =
        [MedicationClassifier.RxNormSystem, "http://www.nlm.nih.gov/research/umls/rxnorm/", "urn:oid:2.16.840.1.113883.6.88", "2.16.840.1.113883.6.88", " HTTP://WWW.NLM.NIH.GOV/RESEARCH/UMLS/RXNORM "];

    private static readonly string[] SnomedSystems =
        [MedicationClassifier.SnomedSystem, "http://snomed.info/sct/900000000000207008/version/20240101", "urn:oid:2.16.840.1.113883.6.96", "http://snomed.info/sct/"];

    private static readonly string[] AtcSystems = [MedicationClassifier.AtcSystem, "urn:oid:2.16.840.1.113883.6.73", "HTTP://WWW.WHOCC.NO/ATC"];

    private static void AssertSameClassification(MedicationFact fact)
    {
        var expected = Legacy.Classify(fact);
        var actual = TestKnowledge.Classifier.Classify(fact);
        Assert.Equal(expected?.Ingredient.Code, actual?.Ingredient.Code);
        Assert.Equal(expected?.Basis, actual?.Basis);
        Assert.Same(expected?.Product, actual?.Product);
    }

    private static MedicationFact Fact(IReadOnlyList<CodeFact> codes, IReadOnlyList<string>? texts = null, IReadOnlyList<IngredientStrengthFact>? ingredients = null) => new()
    {
        Reference = "MedicationStatement/equivalence",
        Source = MedicationSource.Statement,
        Status = "active",
        Codes = codes,
        Texts = texts ?? [],
        Ingredients = ingredients ?? [],
    };

    private static void AssertSameTherapies(IReadOnlyList<Therapy> expected, IReadOnlyList<Therapy> actual, string context)
    {
        Assert.True(expected.Count == actual.Count, $"{context}: {expected.Count} therapies before, {actual.Count} now");
        for (var i = 0; i < expected.Count; i++)
        {
            var (e, a) = (expected[i], actual[i]);
            Assert.Equal(e.Ingredient.Code, a.Ingredient.Code);
            Assert.Equal(e.Entries.Select(x => x.Fact), a.Entries.Select(x => x.Fact));
            Assert.Equal(e.EntryDoses.Select(Describe), a.EntryDoses.Select(Describe));
            Assert.Equal(Describe(e.Dose), Describe(a.Dose));
            Assert.Equal(e.ReconciliationNote, a.ReconciliationNote);
            Assert.Equal(e.Concurrent, a.Concurrent);
            Assert.Equal(e.DuplicateEntries, a.DuplicateEntries);
            Assert.Equal(e.DisplayName, a.DisplayName);
            Assert.Equal(e.Route, a.Route);
        }
    }

    private static string Describe(DailyDose d) =>
        $"{d.MgPerDay}|{d.ScheduledMgPerDay}|{d.IsUpTo}|{string.Join(",", d.Derivations)}|{d.Calculation}|{d.UnknownReason}|{d.Route}";

    private static string Describe(Finding f) => f switch
    {
        LamotrigineFinding l => $"{l.Code}|{l.MgPerDay}|{l.Category}|{l.Ketamine}|{l.CourseShownSeparately}|{l.Benzodiazepines?.TotalPrimary}|{l.Benzodiazepines?.TotalAlternate}|{l.Therapies.Count}|{l.Outcomes?.Qids.LatestScore}",
        BenzodiazepineFinding b => $"{b.Code}|{b.Assessment.TotalPrimary}|{b.Assessment.TotalAlternate}|{string.Join(";", b.Assessment.Lines.Select(l => $"{l.Therapy.Ingredient.Code}:{l.LorazepamEquivalentMgPerDay}:{l.LorazepamEquivalentMgPerDayAlternate}:{l.NotCountedReason}"))}",
        KetamineCourseFinding k => $"{k.Code}|{k.Outcomes.Qids.BaselineScore}|{k.Outcomes.Cadss.Mean}|{k.Benzodiazepines?.TotalPrimary}",
        _ => $"{f.GetType().Name}|{f.Code}",
    };

    // A chart: 0-8 entries of our ingredients and others, with copies (new ids, same content), the same record twice,
    // links, statements next to their prescriptions, ended and undated entries, and real sigs from the sig corpus.
    private static readonly string[] Drugs = ["clonazepam", "lorazepam", "alprazolam", "diazepam", "lamotrigine", "zolpidem", "ketamine", "esketamine", "sertraline"];

    private static readonly string[] TimingCodes = ["QD", "BID", "TID", "QID", "Q6H", "QHS", "PRN", "XYZ"];

    private static int _next;

    private static List<MedicationFact> Chart(Random random)
    {
        var facts = new List<MedicationFact>();
        var count = random.Next(0, 9);
        for (var i = 0; i < count; i++)
        {
            var roll = random.Next(10);
            if (facts.Count > 0 && roll == 0)
            {
                facts.Add(facts[random.Next(facts.Count)]); // the same record twice
            }
            else if (facts.Count > 0 && roll <= 2)
            {
                facts.Add(facts[random.Next(facts.Count)] with { Reference = NewReference(MedicationSource.Statement) }); // a copy with a new id
            }
            else if (facts.Count > 0 && roll == 3)
            {
                var prescription = facts[random.Next(facts.Count)];
                facts.Add(prescription with
                {
                    Reference = NewReference(MedicationSource.Statement),
                    Source = MedicationSource.Statement,
                    LinkedReferences = random.Next(2) == 0 ? [prescription.Reference] : [$"https://ehr.example.org/fhir/{prescription.Reference}"],
                });
            }
            else
            {
                facts.Add(Medication(random));
            }
        }

        return facts;
    }

    private static MedicationFact Medication(Random random)
    {
        var source = random.Next(2) == 0 ? MedicationSource.Statement : MedicationSource.Request;
        var corpus = SigCorpusTests.Rows.Values.ToList();
        var dated = random.Next(5) != 0;
        var start = Now.AddDays(-random.Next(0, 400));
        var end = random.Next(6) == 0 ? start.AddDays(random.Next(-10, 500)) : (DateTimeOffset?)null;
        var dosages = random.Next(6) switch
        {
            0 => corpus[random.Next(corpus.Count)].Fact.Dosages,
            1 => [],
            _ => Enumerable.Range(0, random.Next(1, 3)).Select(_ => Dosage(random)).ToArray(),
        };
        var baseFact = random.Next(5) == 0 ? corpus[random.Next(corpus.Count)].Fact : null;
        return new MedicationFact
        {
            Reference = NewReference(source),
            Source = source,
            Status = random.Next(8) == 0 ? "stopped" : "active",
            Texts = baseFact?.Texts ?? [Drugs[random.Next(Drugs.Length)]],
            Codes = baseFact?.Codes ?? [],
            Ingredients = baseFact?.Ingredients ?? [],
            Route = random.Next(8) == 0 ? "Intravenous" : null,
            Dosages = dosages,
            EffectiveStart = dated ? start : null,
            EffectiveEnd = dated ? end : null,
        };
    }

    private static DosageFact Dosage(Random random)
    {
        decimal[] doses = [0.25m, 0.5m, 1m, 2m, 2.0m, 25m, 50m, 100m];
        var prn = random.Next(4) == 0;
        return new DosageFact
        {
            Text = random.Next(3) == 0 ? "take as directed" : null,
            Dose = random.Next(8) == 0 ? null : new QuantityFact(doses[random.Next(doses.Length)], "mg", random.Next(2) == 0 ? "mg" : null),
            Timing = random.Next(3) switch
            {
                0 => new TimingFact { Codes = [new CodeFact(Gts, TimingCodes[random.Next(TimingCodes.Length)], null)] },
                1 => new TimingFact { Frequency = random.Next(2) == 0 ? null : random.Next(1, 4), Period = random.Next(1, 3), PeriodUnit = "d", BoundsEnd = random.Next(6) == 0 ? Now.AddDays(-3) : null },
                _ => new TimingFact { WhenCount = random.Next(0, 3), Codes = [new CodeFact(Gts, " bid ", null), new CodeFact(null, null, null)], CodeText = "Twice  Daily" },
            },
            AsNeeded = prn,
            MaxDosePerPeriod = prn && random.Next(2) == 0 ? new RatioFact(new QuantityFact(4, "mg", "mg"), new QuantityFact(1, "d", "d")) : null,
            Route = random.Next(10) == 0 ? "Sublingual" : null,
        };
    }

    private static MedicationFact Draft(Random random) => new()
    {
        Reference = $"MedicationRequest/draft-{Interlocked.Increment(ref _next)}",
        Source = MedicationSource.DraftOrder,
        Status = random.Next(6) == 0 ? "completed" : "draft",
        Texts = [random.Next(4) switch { 0 => "esketamine 28 mg nasal spray", 1 => "sertraline", _ => "ketamine hydrochloride 0.5 mg/kg IV" }],
        Codes = random.Next(2) == 0 ? [new CodeFact(MedicationClassifier.RxNormSystem, "6130", "ketamine")] : [],
        EffectiveStart = Now.AddDays(-random.Next(0, 30)),
    };

    private static AssessmentData Assessments(Random random)
    {
        var scores = new List<AssessmentScore>();
        for (var i = random.Next(0, 10); i > 0; i--)
        {
            var kind = random.Next(2) == 0 ? AssessmentKind.QidsSr16 : AssessmentKind.Cadss;
            var when = Now.AddDays(-random.Next(0, 40)).AddHours(random.Next(0, 3) * 6);
            scores.Add(new AssessmentScore($"Observation/o{Interlocked.Increment(ref _next)}", kind, random.Next(5) == 0 ? when.ToOffset(TimeSpan.FromHours(-5)) : when, random.Next(0, 30)));
        }

        return new AssessmentData(scores, []);
    }

    private static string NewReference(MedicationSource source) =>
        $"{(source == MedicationSource.Statement ? "MedicationStatement" : "MedicationRequest")}/eq-{Interlocked.Increment(ref _next)}";
}
