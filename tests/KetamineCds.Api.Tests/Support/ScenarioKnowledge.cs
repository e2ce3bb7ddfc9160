using KetamineCds.Fhir.Knowledge;

namespace KetamineCds.Api.Tests.Support;

/// <summary>Product codes from the knowledge artifacts, so tests use real reference codes rather than invented ones.</summary>
public static class ScenarioKnowledge
{
    private static readonly Lazy<KetamineCds.Clinical.Knowledge.ClinicalKnowledge> Knowledge = new(() => KnowledgeLoader.Load());

    public static IReadOnlyList<KetamineCds.Clinical.Knowledge.OverrideReason> OverrideReasons => Knowledge.Value.OverrideReasons;

    public static IReadOnlySet<string> ProductCodes => Knowledge.Value.Products.Keys.ToHashSet();

    public static string ProductCodeFor(string ingredient) =>
        Knowledge.Value.Products.Values.First(p => p.IngredientCode == ingredient && p.StrengthMg is not null && !p.Combination).RxNormCode;
}
