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

    private static string Coded(string system, string code, string? display = null, string dosageText = "1 tablet twice daily") =>
        "{\"resourceType\":\"MedicationStatement\",\"id\":\"x\",\"status\":\"active\",\"medicationCodeableConcept\":{\"coding\":[{\"system\":\"" + system +
        "\",\"code\":\"" + code + "\"" + (display is null ? "" : ",\"display\":\"" + display + "\"") + "}]},\"dosage\":[{\"text\":\"" + dosageText + "\"}]}";

    [Fact]
    public void Every_SNOMED_CT_substance_and_product_code_passes_the_screen() =>
        Assert.All(TestKnowledge.Knowledge.Codings.SnomedSubstances.Keys.Concat(TestKnowledge.Knowledge.Codings.SnomedProducts.Keys),
            code => Assert.True(Screen.MayBeRelevant(Coded("http://snomed.info/sct", code, "home med")), code));

    [Fact]
    public void Every_ATC_code_passes_the_screen() =>
        Assert.All(TestKnowledge.Knowledge.Codings.AtcCodes.Keys, code => Assert.True(Screen.MayBeRelevant(Coded("http://www.whocc.no/atc", code, "home med")), code));

    [Fact]
    public void An_unknown_code_without_any_name_passes_so_it_can_be_counted_as_unreadable()
    {
        Assert.True(Screen.MayBeRelevant(Coded("http://snomed.info/sct", "999999999")));
        Assert.True(Screen.MayBeRelevant(System.Text.Json.JsonDocument.Parse(Coded("http://snomed.info/sct", "999999999")).RootElement));
    }

    [Fact]
    public void An_unknown_code_whose_display_names_another_drug_is_screened_out() =>
        Assert.False(Screen.MayBeRelevant(Coded("http://snomed.info/sct", "999999999", "Sertraline 50 mg tablet")));
}
