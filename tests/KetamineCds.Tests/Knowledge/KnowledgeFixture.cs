using KetamineCds.Clinical.Dosing;
using KetamineCds.Clinical.Knowledge;
using KetamineCds.Clinical.Medications;
using KetamineCds.Fhir.Knowledge;

namespace KetamineCds.Tests.Knowledge;

/// <summary>The embedded knowledge, loaded once for the whole test assembly.</summary>
public static class TestKnowledge
{
    private static readonly Lazy<ClinicalKnowledge> Loaded = new(() => KnowledgeLoader.Load());

    public static ClinicalKnowledge Knowledge => Loaded.Value;

    public static MedicationClassifier Classifier { get; } = new(Knowledge);
}
