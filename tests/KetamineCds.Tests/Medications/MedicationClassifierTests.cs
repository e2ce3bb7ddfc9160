using KetamineCds.Clinical.Knowledge;
using KetamineCds.Clinical.Medications;
using KetamineCds.Tests.Knowledge;

namespace KetamineCds.Tests.Medications;

/// <summary>
/// Recognition by every code system we map, as EHRs send them: RxNorm (Epic), SNOMED CT substances and products
/// (Oracle Health, European EHRs), WHO ATC. Codes come from the reference tables: shared/reference/README.md (RxNorm
/// ingredient and ATC codes), shared/reference/rxnorm/*.csv (RxNorm products), shared/reference/snomed/substances.csv
/// and products.csv (SNOMED CT), and the KBV ConceptMap PSSubstanceTopATCSnomedGerman (zolpidem and zopiclone ATC).
/// </summary>
public sealed class MedicationClassifierTests
{
    private const string RxNorm = "http://www.nlm.nih.gov/research/umls/rxnorm";
    private const string Snomed = "http://snomed.info/sct";
    private const string Atc = "http://www.whocc.no/atc";

    private static MedicationFact CodedOnly(string system, string code, string? display = null) => new()
    {
        Reference = "MedicationStatement/coded",
        Source = MedicationSource.Statement,
        Status = "active",
        Codes = [new CodeFact(system, code, display)],
    };

    [Theory]
    // RxNorm ingredient (IN) codes, reference README.
    [InlineData(RxNorm, "28439", "lamotrigine", RecognitionBasis.RxNormIngredientCode)]
    [InlineData(RxNorm, "2598", "clonazepam", RecognitionBasis.RxNormIngredientCode)]
    [InlineData(RxNorm, "6470", "lorazepam", RecognitionBasis.RxNormIngredientCode)]
    [InlineData("urn:oid:2.16.840.1.113883.6.88", "3322", "diazepam", RecognitionBasis.RxNormIngredientCode)]
    // RxNorm products (SCD/SBD), CDC benzodiazepine and CNS-depressant value sets.
    [InlineData(RxNorm, "197527", "clonazepam", RecognitionBasis.RxNormProductCode)]
    [InlineData(RxNorm, "206157", "clonazepam", RecognitionBasis.RxNormProductCode)]
    // SNOMED CT substances, substances.csv (confirmed rows).
    [InlineData(Snomed, "387562000", "lamotrigine", RecognitionBasis.SnomedSubstanceCode)]
    [InlineData(Snomed, "387383007", "clonazepam", RecognitionBasis.SnomedSubstanceCode)]
    [InlineData(Snomed, "387106007", "lorazepam", RecognitionBasis.SnomedSubstanceCode)]
    [InlineData(Snomed, "387264003", "diazepam", RecognitionBasis.SnomedSubstanceCode)]
    [InlineData(Snomed, "386983007", "alprazolam", RecognitionBasis.SnomedSubstanceCode)]
    [InlineData(Snomed, "387572002", "clobazam", RecognitionBasis.SnomedSubstanceCode)]
    [InlineData(Snomed, "373464007", "ketamine", RecognitionBasis.SnomedSubstanceCode)]
    [InlineData(Snomed, "387569009", "zolpidem", RecognitionBasis.SnomedSubstanceCode)]
    // A salt substance maps to its base ingredient ("wider"): single-source row of substances.csv.
    [InlineData(Snomed, "387453004", "clorazepate", RecognitionBasis.SnomedSubstanceCode)]
    // SNOMED CT by its OID, and with an edition/version URI written into system.
    [InlineData("urn:oid:2.16.840.1.113883.6.96", "387383007", "clonazepam", RecognitionBasis.SnomedSubstanceCode)]
    [InlineData("http://snomed.info/sct/900000000000207008/version/20240101", "387562000", "lamotrigine", RecognitionBasis.SnomedSubstanceCode)]
    // SNOMED CT medicinal products, products.csv.
    [InlineData(Snomed, "322897008", "clonazepam", RecognitionBasis.SnomedProductCode)]
    [InlineData(Snomed, "322981004", "lamotrigine", RecognitionBasis.SnomedProductCode)]
    [InlineData(Snomed, "778812004", "clonazepam", RecognitionBasis.SnomedProductCode)]
    [InlineData(Snomed, "400621001", "lorazepam", RecognitionBasis.SnomedProductCode)]
    // WHO ATC, reference README ATC line; zolpidem/zopiclone from the KBV ConceptMap.
    [InlineData(Atc, "N03AX09", "lamotrigine", RecognitionBasis.AtcCode)]
    [InlineData(Atc, "N03AE01", "clonazepam", RecognitionBasis.AtcCode)]
    [InlineData(Atc, "N05BA06", "lorazepam", RecognitionBasis.AtcCode)]
    [InlineData(Atc, "n05ba01", "diazepam", RecognitionBasis.AtcCode)]
    [InlineData(Atc, "N06AX27", "esketamine", RecognitionBasis.AtcCode)]
    [InlineData(Atc, "N05CF01", "zopiclone", RecognitionBasis.AtcCode)]
    [InlineData("urn:oid:2.16.840.1.113883.6.73", "N05BA12", "alprazolam", RecognitionBasis.AtcCode)]
    public void A_code_without_any_name_is_recognized(string system, string code, string ingredient, RecognitionBasis basis)
    {
        var recognized = TestKnowledge.Classifier.Classify(CodedOnly(system, code));
        Assert.NotNull(recognized);
        Assert.Equal(ingredient, recognized.Ingredient.Code);
        Assert.Equal(basis, recognized.Basis);
    }

    [Theory]
    // Codes none of our tables maps (with or without a display naming another drug).
    [InlineData(Snomed, "999999999", null)]
    [InlineData(Snomed, "372594008", "Sertraline")]
    [InlineData(Atc, "N06AB06", "sertraline")]
    [InlineData(RxNorm, "36437", "sertraline")]
    // Clonazepam's SNOMED CT id under another system is not SNOMED CT.
    [InlineData("http://loinc.org", "387383007", null)]
    public void A_code_we_do_not_map_is_not_one_of_ours(string system, string code, string? display) =>
        Assert.Null(TestKnowledge.Classifier.Classify(CodedOnly(system, code, display)));

    [Fact]
    public void An_unknown_SNOMED_code_never_hides_a_benzodiazepine_named_in_its_display()
    {
        var recognized = TestKnowledge.Classifier.Classify(CodedOnly(Snomed, "999999999", "Clonazepam 0.5 mg tablet"));
        Assert.Equal("clonazepam", recognized?.Ingredient.Code);
        Assert.Equal(RecognitionBasis.Name, recognized?.Basis);
    }

    [Theory]
    [InlineData(Snomed, "322897008", 0.5)]    // Clonazepam 500 microgram oral tablet
    [InlineData(Snomed, "322898003", 2)]      // clonazepam 2 milligram/1 each oral tablet
    [InlineData(Snomed, "322981004", 50)]     // lamotrigine 50 milligram/1 each oral tablet
    [InlineData(Snomed, "373984002", 0.25)]   // triazolam 250 microgram/1 each
    [InlineData(RxNorm, "197527", 0.5)]       // clonazepam 0.5 MG Oral Tablet
    public void A_product_code_gives_the_strength_per_tablet(string system, string code, double mg)
    {
        var product = TestKnowledge.Classifier.Classify(CodedOnly(system, code))?.Product;
        Assert.NotNull(product);
        Assert.Equal((decimal)mg, product.StrengthMg);
    }

    [Theory]
    [InlineData(Snomed, "400621001", "parenteral", 2)]   // lorazepam 2 mg/mL injection (HL7 FHIR example med0313)
    [InlineData(Snomed, "769852008", "parenteral", 100)] // ketamine 1 gram/10 milliliter
    [InlineData(Snomed, "321203006", "oral", 1)]         // diazepam 1 milligram/1 milliliter oral solution
    public void A_liquid_SNOMED_product_gives_its_route_and_mg_per_mL(string system, string code, string route, double mgPerMl)
    {
        var product = TestKnowledge.Classifier.Classify(CodedOnly(system, code))?.Product;
        Assert.NotNull(product);
        Assert.Equal(route, product.Route);
        Assert.Equal((decimal)mgPerMl, product.StrengthMgPerMl);
        Assert.Equal(MedicationCodeSystem.SnomedCt, product.CodeSystem);
        Assert.Equal($"SNOMED CT {code}", product.CodeLabel);
    }

    [Fact]
    public void A_SNOMED_ingredient_code_inside_a_contained_Medication_is_recognized()
    {
        var fact = new MedicationFact
        {
            Reference = "MedicationRequest/med",
            Source = MedicationSource.Request,
            Status = "active",
            Ingredients = [new IngredientStrengthFact([new CodeFact(Snomed, "387106007", null)], null, null)],
        };
        Assert.Equal("lorazepam", TestKnowledge.Classifier.Classify(fact)?.Ingredient.Code);
    }

    [Theory]
    // Product-only codes are shown by the product's name and strength, never as a bare code (issue 7, item 5).
    [InlineData(RxNorm, "197527", "clonazepam 0.5 MG Oral Tablet")]
    [InlineData(Snomed, "322897008", "Clonazepam 500 microgram oral tablet")]
    [InlineData(Snomed, "322981004", "Product containing precisely lamotrigine 50 milligram/1 each conventional release oral tablet")]
    // A substance or ingredient code alone: the ingredient's name.
    [InlineData(Snomed, "387383007", "clonazepam")]
    [InlineData(Atc, "N03AX09", "lamotrigine")]
    [InlineData(RxNorm, "2598", "clonazepam")]
    public void A_code_only_entry_is_named_by_its_product_or_ingredient(string system, string code, string expected)
    {
        var recognized = TestKnowledge.Classifier.Classify(CodedOnly(system, code))!;
        Assert.Equal(expected, recognized.DisplayName);
        var therapy = TherapyReconciler.Reconcile([recognized], new Clinical.Dosing.DailyDoseCalculator(new NoSigs())).Single();
        Assert.Equal(expected, therapy.DisplayName);
    }

    [Fact]
    public void The_record_text_wins_over_the_product_name() =>
        Assert.Equal("Klonopin 0.5 mg", TestKnowledge.Classifier.Classify(CodedOnly(RxNorm, "197527") with { Texts = ["Klonopin 0.5 mg"] })!.DisplayName);

    [Theory]
    [InlineData(Snomed, "999999999", "SNOMED CT 999999999")]
    [InlineData(RxNorm, "197527", "RxNorm 197527")]
    [InlineData("urn:oid:1.2.3", "X1", "code X1 (urn:oid:1.2.3)")]
    public void An_unrecognized_code_only_entry_names_its_code_system(string system, string code, string expected) =>
        Assert.Equal(expected, CodedOnly(system, code).DisplayName);

    [Fact]
    public void Every_confirmed_SNOMED_substance_of_the_reference_table_is_mapped()
    {
        // shared/reference/snomed/substances.csv, rows with confidence "confirmed".
        var confirmed = new Dictionary<string, string>
        {
            ["387562000"] = "lamotrigine", ["373464007"] = "ketamine", ["386983007"] = "alprazolam", ["372866006"] = "chlordiazepoxide",
            ["387572002"] = "clobazam", ["387383007"] = "clonazepam", ["387264003"] = "diazepam", ["387109000"] = "flurazepam",
            ["387106007"] = "lorazepam", ["373476007"] = "midazolam", ["387455006"] = "oxazepam", ["387300007"] = "temazepam",
            ["386984001"] = "triazolam", ["387569009"] = "zolpidem", ["395929002"] = "zopiclone",
        };
        Assert.All(confirmed, pair => Assert.Equal(pair.Value, TestKnowledge.Knowledge.Codings.SnomedSubstances.GetValueOrDefault(pair.Key)));
    }

    [Fact]
    public void Every_SNOMED_product_maps_to_a_known_ingredient() =>
        Assert.All(TestKnowledge.Knowledge.Codings.SnomedProducts.Values, p => Assert.True(TestKnowledge.Knowledge.Ingredients.ContainsKey(p.IngredientCode), p.Code));

    private sealed class NoSigs : Clinical.Dosing.ISigTextParser
    {
        public Clinical.Dosing.SigVocabulary Vocabulary => TestKnowledge.Knowledge.Sig;

        public Clinical.Dosing.SigParseResult Parse(string text) => new([], text);
    }
}
