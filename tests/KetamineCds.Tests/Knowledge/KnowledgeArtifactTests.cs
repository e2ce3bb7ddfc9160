using System.Text.Json;
using KetamineCds.Clinical.Knowledge;
using KetamineCds.Fhir.Knowledge;

namespace KetamineCds.Tests.Knowledge;

/// <summary>
/// The knowledge artifacts in fhir-profiles, checked against their sources (../shared/reference/README.md,
/// transcribed here independently) and against each other.
/// </summary>
public sealed class KnowledgeArtifactTests
{
    private static ClinicalKnowledge K => TestKnowledge.Knowledge;

    [Theory]
    [InlineData("alprazolam", 0.5, 0.5)]
    [InlineData("chlordiazepoxide", 25, 12.5)]
    [InlineData("clonazepam", 0.5, 0.25)]
    [InlineData("clorazepate", 15, 7.5)]
    [InlineData("diazepam", 10, 5)]
    [InlineData("estazolam", 1, 0.5)]
    [InlineData("flurazepam", 15, 7.5)]
    [InlineData("lorazepam", 1, 1)]
    [InlineData("oxazepam", 20, 15)]
    [InlineData("quazepam", 20, 5)]
    [InlineData("temazepam", 20, 7.5)]
    [InlineData("triazolam", 0.5, 0.125)]
    public void Equivalence_factors_match_the_reference_tables(string ingredient, double ashton, double vaDod)
    {
        Assert.Equal((decimal)ashton, K.PrimaryEquivalence.For(ingredient)!.EquivalentMg);
        Assert.Equal((decimal)vaDod, K.AlternateEquivalence.For(ingredient)!.EquivalentMg);
    }

    [Fact]
    public void Clobazam_has_an_Ashton_factor_but_no_VA_DoD_factor()
    {
        Assert.Equal(20m, K.PrimaryEquivalence.For("clobazam")!.EquivalentMg);
        Assert.Null(K.AlternateEquivalence.For("clobazam"));
    }

    [Theory]
    [InlineData("midazolam")]
    [InlineData("remimazolam")]
    [InlineData("zolpidem")]
    public void Drugs_without_an_oral_benzodiazepine_equivalence_have_no_factor(string ingredient) =>
        Assert.Null(K.PrimaryEquivalence.For(ingredient));

    [Fact]
    public void Thresholds_come_from_the_finding_CodeSystem_with_citations()
    {
        Assert.Equal(4m, K.Thresholds.BenzodiazepineLorazepamMgPerDay);
        Assert.True(K.Thresholds.BenzodiazepineInclusive);
        Assert.Equal(100m, K.Thresholds.LamotrigineStandardDoseMinMgPerDay);
        Assert.Contains("Frye", K.Thresholds.BenzodiazepineCitation, StringComparison.Ordinal);
        Assert.Contains("Joseph", K.Thresholds.LamotrigineCitation, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("response-lamotrigine-percent", 62.5, 5, 8)]
    [InlineData("response-no-lamotrigine-percent", 57.4, 31, 54)]
    [InlineData("remission-lamotrigine-percent", 37.5, 3, 8)]
    [InlineData("remission-no-lamotrigine-percent", 38.9, 21, 54)]
    [InlineData("case-series-response-percent", 69, 9, 13)]
    [InlineData("case-series-remission-percent", 46, 6, 13)]
    public void Evidence_figures_match_the_article(string key, double value, int numerator, int denominator)
    {
        var figure = K.Evidence[key];
        Assert.Equal((decimal)value, figure.Value);
        Assert.Equal(numerator, figure.Numerator);
        Assert.Equal(denominator, figure.Denominator);
        Assert.False(string.IsNullOrWhiteSpace(figure.Source));
    }

    [Fact]
    public void Every_value_set_code_maps_to_an_ingredient_of_the_same_class()
    {
        foreach (var (code, drugClass) in K.RxNormClass)
        {
            var ingredient = K.Products.TryGetValue(code, out var product)
                ? K.Ingredients[product.IngredientCode]
                : K.Ingredients.Values.Single(i => i.RxNormCodes.Contains(code));
            Assert.True(drugClass == ingredient.Class, $"{code}: value set says {drugClass}, ingredient {ingredient.Code} is {ingredient.Class}");
        }
    }

    [Fact]
    public void Every_product_of_the_reference_lists_is_in_a_value_set() =>
        Assert.All(K.Products.Keys, code => Assert.True(K.RxNormClass.ContainsKey(code), code));

    [Fact]
    public void Reference_ingredient_codes_are_carried()
    {
        Assert.Contains("28439", K.Ingredients["lamotrigine"].RxNormCodes);
        Assert.Contains("6130", K.Ingredients["ketamine"].RxNormCodes);
        Assert.Contains("2598", K.Ingredients["clonazepam"].RxNormCodes);
        Assert.Equal(DrugClass.Ketamine, K.Ingredients["esketamine"].Class);
    }

    [Fact]
    public void A_missing_equivalence_table_stops_the_service_from_starting()
    {
        var artifacts = KnowledgeLoader.ReadArtifacts().Where(a => !a.Key.Contains("lorazepam-equivalence-ashton", StringComparison.Ordinal))
            .ToDictionary(a => a.Key, a => a.Value);
        var error = Assert.Throws<InvalidDataException>(() => KnowledgeLoader.Load(artifacts));
        Assert.Contains("lorazepam-equivalence-ashton", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_missing_evidence_figure_stops_the_service_from_starting()
    {
        var artifacts = KnowledgeLoader.ReadArtifacts().ToDictionary(a => a.Key, a => a.Value);
        var key = artifacts.Keys.Single(k => k.EndsWith("Parameters-joseph-2023-figures.json", StringComparison.Ordinal));
        artifacts[key] = artifacts[key].Replace("\"response-p\"", "\"response-p-renamed\"", StringComparison.Ordinal);
        var error = Assert.Throws<InvalidDataException>(() => KnowledgeLoader.Load(artifacts));
        Assert.Contains("response-p", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Artifacts_are_versioned_and_cited()
    {
        foreach (var (path, json) in KnowledgeLoader.ReadArtifacts().Where(a => a.Key.Contains("CodeSystem-lorazepam", StringComparison.Ordinal)))
        {
            using var doc = JsonDocument.Parse(json);
            Assert.True(doc.RootElement.TryGetProperty("version", out _), path);
            Assert.Contains(doc.RootElement.GetProperty("extension").EnumerateArray(),
                e => e.GetProperty("url").GetString() == "http://hl7.org/fhir/StructureDefinition/cqf-citation");
        }
    }

    /// <summary>Route-specific figures (issue 7 item 8), transcribed here from the article's Table 1 and Results 3.1.</summary>
    [Theory]
    [InlineData("cohort-lamotrigine-in-esketamine-n", 1)]
    [InlineData("cohort-no-lamotrigine-in-esketamine-n", 14)]
    [InlineData("iv-only-n", 47)]
    [InlineData("iv-only-lamotrigine-n", 7)]
    [InlineData("iv-only-no-lamotrigine-n", 40)]
    [InlineData("iv-cadss-lamotrigine-effect-p", 0.02)]
    [InlineData("iv-qids-lamotrigine-effect-p", 0.45)]
    public void Route_specific_figures_match_the_article(string key, double value)
    {
        Assert.Equal((decimal)value, K.Evidence[key].Value);
        Assert.False(string.IsNullOrWhiteSpace(K.Evidence[key].Source));
    }

    [Fact]
    public void The_IV_only_group_sizes_add_up_to_the_cohort()
    {
        decimal F(string key) => K.Evidence[key].Value;
        Assert.Equal(F("cohort-n"), F("iv-only-n") + F("cohort-in-esketamine-n"));
        Assert.Equal(F("iv-only-lamotrigine-n"), F("cohort-lamotrigine-n") - F("cohort-lamotrigine-in-esketamine-n"));
        Assert.Equal(F("iv-only-no-lamotrigine-n"), F("cohort-no-lamotrigine-n") - F("cohort-no-lamotrigine-in-esketamine-n"));
        Assert.Equal(F("iv-only-n"), F("iv-only-lamotrigine-n") + F("iv-only-no-lamotrigine-n"));
    }

    /// <summary>INTERFACES.md seam 3: the four codes and their displays, loaded from the override-reason CodeSystem.</summary>
    [Fact]
    public void Override_reasons_are_the_agreed_codes_with_their_displays()
    {
        Assert.Equal(
            [
                ("benefit-outweighs-risk", "Benefit outweighs risk, reviewed with patient"),
                ("dose-already-adjusted", "Dose already adjusted"),
                ("medication-list-out-of-date", "Medication list is out of date"),
                ("not-applicable", "Not applicable to this patient"),
            ],
            K.OverrideReasons.Select(r => (r.Code, r.Display)));
        Assert.All(K.OverrideReasons, r => Assert.Equal("http://ketaminecds.org/fhir/CodeSystem/ketamine-cds-override-reason", r.System));
        Assert.All(K.OverrideReasons, r => Assert.Contains("benzodiazepine-threshold", r.Findings));
    }

    [Fact]
    public void An_override_reason_naming_an_unknown_finding_stops_the_service_from_starting()
    {
        var artifacts = KnowledgeLoader.ReadArtifacts().ToDictionary();
        const string path = "terminology/CodeSystem-ketamine-cds-override-reason.json";
        artifacts[path] = artifacts[path].Replace("\"valueCode\": \"lamotrigine-concurrent\"", "\"valueCode\": \"lamotrigine-stop\"", StringComparison.Ordinal);
        var error = Assert.Throws<InvalidDataException>(() => KnowledgeLoader.Load(artifacts));
        Assert.Contains("lamotrigine-stop", error.Message, StringComparison.Ordinal);
    }
}
