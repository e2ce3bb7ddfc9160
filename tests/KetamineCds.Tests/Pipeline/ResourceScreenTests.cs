using KetamineCds.Fhir.Data;
using KetamineCds.Tests.Knowledge;

namespace KetamineCds.Tests.Pipeline;

/// <summary>The pre-screen may let irrelevant entries through, but must never drop one the classifier would recognize.</summary>
public sealed class ResourceScreenTests
{
    private static readonly ResourceScreen Screen = ResourceScreen.ForMedications(TestKnowledge.Knowledge);

    private static string Statement(string text, string? code = null)
    {
        var coding = code is null ? "" : ",\"coding\":[{\"system\":\"http://www.nlm.nih.gov/research/umls/rxnorm\",\"code\":\"" + code + "\"}]";
        return "{\"resourceType\":\"MedicationStatement\",\"id\":\"x\",\"status\":\"active\",\"medicationCodeableConcept\":{\"text\":\"" + text + "\"" + coding + "}}";
    }

    [Fact]
    public void Every_name_and_brand_the_classifier_knows_passes_the_screen()
    {
        foreach (var ingredient in TestKnowledge.Knowledge.Ingredients.Values)
        {
            foreach (var name in ingredient.Names.Append(ingredient.Name))
            {
                Assert.True(Screen.MayBeRelevant(Statement(name.ToUpperInvariant() + " 1 mg tablet")), name);
            }
        }
    }

    [Fact]
    public void Every_product_code_passes_the_screen() =>
        Assert.All(TestKnowledge.Knowledge.Products.Keys, code => Assert.True(Screen.MayBeRelevant(Statement("home med", code)), code));

    [Fact]
    public void An_unrelated_medication_is_screened_out() =>
        Assert.False(Screen.MayBeRelevant(Statement("sertraline 100 mg tablet")));

    [Fact]
    public void Unicode_escaped_text_is_never_screened_out() =>
        Assert.True(Screen.MayBeRelevant(Statement("\\u0063lonazepam")));
}
