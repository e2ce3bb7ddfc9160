using KetamineCds.Clinical.Dosing;
using KetamineCds.Clinical.Medications;
using KetamineCds.Tests.Knowledge;

namespace KetamineCds.Tests.Rules;

/// <summary>Builds medication facts the way the FHIR edge would, for rule tests.</summary>
public static class RuleBuilders
{
    private static int _next;

    public static MedicationFact Med(string name, decimal? mg, string timingCode = "QD", MedicationSource source = MedicationSource.Statement,
        string status = "active", string? route = null, string? rxnorm = null, IReadOnlyList<string>? linked = null) => new()
    {
        Reference = $"{(source == MedicationSource.Statement ? "MedicationStatement" : "MedicationRequest")}/m{Interlocked.Increment(ref _next)}",
        Source = source,
        Status = status,
        Texts = [name],
        Codes = rxnorm is null ? [] : [new CodeFact(MedicationClassifier.RxNormSystem, rxnorm, null)],
        Route = route,
        LinkedReferences = linked ?? [],
        Dosages = mg is null
            ? [new DosageFact { Text = "take as directed" }]
            : [new DosageFact { Dose = new QuantityFact(mg.Value, "mg", "mg"), Timing = new TimingFact { Codes = [new CodeFact(null, timingCode, null)] } }],
    };

    public static IReadOnlyList<Therapy> Therapies(params MedicationFact[] facts) =>
        TherapyReconciler.Reconcile(facts.Select(f => TestKnowledge.Classifier.Classify(f)!), new DailyDoseCalculator(new NoSigs()));

    private sealed class NoSigs : ISigTextParser
    {
        public SigVocabulary Vocabulary => TestKnowledge.Knowledge.Sig;

        public SigParseResult Parse(string text) => new([], text);
    }
}
