using System.Reflection;
using Hl7.Fhir.Model;
using KetamineCds.Clinical.Knowledge;
using KetamineCds.Clinical.Medications;
using static KetamineCds.Fhir.Knowledge.CodeSystemProperties;

namespace KetamineCds.Fhir.Knowledge;

/// <summary>
/// Loads the clinical knowledge from the FHIR artifacts in fhir-profiles (embedded in this assembly, or a directory
/// an operator points to). Any missing or malformed artifact fails start-up: a service that silently lost its
/// equivalence table would undercount benzodiazepines.
/// </summary>
public static class KnowledgeLoader
{
    public const string CanonicalBase = "http://ketaminecds.org/fhir";
    public const string IngredientSystem = CanonicalBase + "/CodeSystem/ketamine-cds-ingredient";
    public const string FindingSystem = CanonicalBase + "/CodeSystem/ketamine-cds-finding";
    public const string OverrideReasonSystem = CanonicalBase + "/CodeSystem/ketamine-cds-override-reason";
    private const string CitationExtension = "http://hl7.org/fhir/StructureDefinition/cqf-citation";
    private const string ResourcePrefix = "fhir-profiles/";

    /// <summary>Every artifact JSON, keyed by its path under fhir-profiles (e.g. "terminology/CodeSystem-x.json").</summary>
    public static IReadOnlyDictionary<string, string> ReadArtifacts(string? directory = null)
    {
        if (!string.IsNullOrWhiteSpace(directory))
        {
            var root = Path.GetFullPath(directory);
            return Directory.EnumerateFiles(root, "*.json", SearchOption.AllDirectories)
                .ToDictionary(f => Path.GetRelativePath(root, f).Replace('\\', '/'), File.ReadAllText, StringComparer.Ordinal);
        }

        var assembly = typeof(KnowledgeLoader).Assembly;
        return assembly.GetManifestResourceNames()
            .Where(n => n.StartsWith(ResourcePrefix, StringComparison.Ordinal) && n.EndsWith(".json", StringComparison.Ordinal))
            .ToDictionary(n => n[ResourcePrefix.Length..].Replace('\\', '/'), n => ReadResource(assembly, n), StringComparer.Ordinal);
    }

    public static ClinicalKnowledge Load(string? directory = null) => Load(ReadArtifacts(directory));

    public static ClinicalKnowledge Load(IReadOnlyDictionary<string, string> artifacts)
    {
        ArgumentNullException.ThrowIfNull(artifacts);
        var codeSystems = new Dictionary<string, CodeSystem>(StringComparer.Ordinal);
        var valueSets = new List<ValueSet>();
        Parameters? figures = null;
        foreach (var (path, json) in artifacts.Where(a => !a.Key.StartsWith("tools/", StringComparison.Ordinal)))
        {
            var fileName = Path.GetFileName(path);
            if (fileName.StartsWith("CodeSystem-", StringComparison.Ordinal))
            {
                var cs = Parse<CodeSystem>(path, json);
                codeSystems[cs.Url ?? path] = cs;
            }
            else if (fileName.StartsWith("ValueSet-", StringComparison.Ordinal))
            {
                valueSets.Add(Parse<ValueSet>(path, json));
            }
            else if (fileName == "Parameters-joseph-2023-figures.json")
            {
                figures = Parse<Parameters>(path, json);
            }
        }

        var ingredients = LoadIngredients(Required(codeSystems, IngredientSystem));
        var findingSystem = Required(codeSystems, FindingSystem);
        var thresholdConcept = Concept(findingSystem, "benzodiazepine-threshold");
        var lamotrigineConcept = Concept(findingSystem, "lamotrigine-concurrent");
        var primary = LoadEquivalence(Required(codeSystems, CodeProperty(thresholdConcept, "primary-table")), ingredients);
        var alternate = LoadEquivalence(Required(codeSystems, CodeProperty(thresholdConcept, "alternate-table")), ingredients);
        var thresholds = new RuleThresholds(
            DecimalProperty(thresholdConcept, "threshold-lorazepam-mg-per-day"),
            BooleanProperty(thresholdConcept, "threshold-inclusive"),
            string.Join(" ", Citations(thresholdConcept.Extension)),
            DecimalProperty(lamotrigineConcept, "standard-dose-min-mg-per-day"),
            string.Join(" ", Citations(lamotrigineConcept.Extension)));

        var products = LoadProducts(Required(codeSystems, CanonicalBase + "/CodeSystem/rxnorm-product-ingredients"), ingredients);
        var rxNormClass = LoadValueSetClasses(valueSets);
        var evidence = LoadFigures(figures ?? throw new InvalidDataException("fhir-profiles: Parameters-joseph-2023-figures.json is missing."));
        var sig = SigVocabularyLoader.Load(Required(codeSystems, SigVocabularyLoader.Url));
        RouteClassifier.Use(sig);
        return new ClinicalKnowledge(ingredients, rxNormClass, products, primary, alternate, thresholds, evidence)
        {
            Sig = sig,
            Codings = CodingsLoader.Load(artifacts, codeSystems, ingredients),
            OverrideReasons = LoadOverrideReasons(Required(codeSystems, OverrideReasonSystem), findingSystem),
        };
    }

    private static Dictionary<string, Ingredient> LoadIngredients(CodeSystem cs)
    {
        var result = new Dictionary<string, Ingredient>(StringComparer.Ordinal);
        foreach (var concept in cs.Concept)
        {
            var drugClass = CodeProperty(concept, "drug-class") switch
            {
                "ketamine" => DrugClass.Ketamine,
                "lamotrigine" => DrugClass.Lamotrigine,
                "benzodiazepine" => DrugClass.Benzodiazepine,
                "z-drug" => DrugClass.ZDrug,
                var other => throw new InvalidDataException($"fhir-profiles: ingredient {concept.Code} has unknown drug-class '{other}'."),
            };
            var rxNorm = concept.Property.Where(p => p.Code == "rxnorm").Select(p => p.Value?.ToString()).OfType<string>().ToList();
            var names = concept.Designation.Select(d => d.Value).OfType<string>().Where(v => v.Length > 0).ToList();
            var code = concept.Code ?? throw new InvalidDataException($"fhir-profiles: {cs.Url} has a concept without a code.");
            result[code] = new Ingredient(code, concept.Display ?? code, drugClass, rxNorm, names);
        }

        return result;
    }

    private static EquivalenceTable LoadEquivalence(CodeSystem cs, Dictionary<string, Ingredient> ingredients)
    {
        var entries = new Dictionary<string, EquivalenceEntry>(StringComparer.Ordinal);
        foreach (var concept in cs.Concept)
        {
            if (concept.Code is null || !ingredients.TryGetValue(concept.Code, out var ingredient))
            {
                throw new InvalidDataException($"fhir-profiles: {cs.Url} names unknown ingredient '{concept.Code}'.");
            }

            // Z-drug rows exist in the Ashton table but are never added to a benzodiazepine total.
            if (ingredient.Class != DrugClass.Benzodiazepine)
            {
                continue;
            }

            var factor = DecimalProperty(concept, "lorazepam-equivalent-mg");
            if (factor <= 0)
            {
                throw new InvalidDataException($"fhir-profiles: {cs.Url} gives a non-positive factor for {concept.Code}.");
            }

            var note = concept.Property.FirstOrDefault(p => p.Code == "note")?.Value?.ToString();
            entries[concept.Code] = new EquivalenceEntry(factor, note);
        }

        return new EquivalenceTable(cs.Url ?? "", cs.Version ?? "", cs.Title ?? cs.Name ?? cs.Url ?? "", Citations(cs.Extension), entries);
    }

    /// <summary>A product supplement (RxNorm or SNOMED CT): per product code its ingredient, strength, dose form, route.</summary>
    internal static Dictionary<string, ProductInfo> LoadProducts(CodeSystem cs, IReadOnlyDictionary<string, Ingredient> ingredients,
        MedicationCodeSystem system = MedicationCodeSystem.RxNorm)
    {
        var result = new Dictionary<string, ProductInfo>(StringComparer.Ordinal);
        foreach (var concept in cs.Concept)
        {
            var ingredient = CodeProperty(concept, "ingredient");
            if (!ingredients.ContainsKey(ingredient))
            {
                throw new InvalidDataException($"fhir-profiles: {system} product {concept.Code} names unknown ingredient '{ingredient}'.");
            }

            var code = concept.Code ?? throw new InvalidDataException($"fhir-profiles: {cs.Url} has a concept without a code.");
            result[code] = new ProductInfo(
                code,
                concept.Display ?? code,
                ingredient,
                OptionalDecimal(concept, "strength-mg"),
                OptionalDecimal(concept, "strength-mg-per-ml"),
                concept.Property.FirstOrDefault(p => p.Code == "dose-form")?.Value?.ToString(),
                concept.Property.FirstOrDefault(p => p.Code == "route")?.Value?.ToString(),
                concept.Property.FirstOrDefault(p => p.Code == "combination")?.Value is FhirBoolean { Value: true }) { CodeSystem = system };
        }

        return result;
    }

    private static Dictionary<string, DrugClass> LoadValueSetClasses(List<ValueSet> valueSets)
    {
        var classes = new Dictionary<string, DrugClass>(StringComparer.Ordinal);
        foreach (var vs in valueSets)
        {
            DrugClass? drugClass = vs.Id switch
            {
                "benzodiazepine-medications" => DrugClass.Benzodiazepine,
                "lamotrigine-medications" => DrugClass.Lamotrigine,
                "z-drug-medications" => DrugClass.ZDrug,
                "ketamine-esketamine-medications" => DrugClass.Ketamine,
                _ => null,
            };
            if (drugClass is null)
            {
                continue;
            }

            foreach (var concept in vs.Compose?.Include.SelectMany(i => i.Concept) ?? [])
            {
                classes[concept.Code ?? ""] = drugClass.Value;
            }
        }

        return classes;
    }

    /// <summary>
    /// The override reasons (CDS Hooks 2.0 overrideReasons) and the findings whose cards offer them. A reason naming a
    /// finding that does not exist is an artifact error: it would silently offer nothing.
    /// </summary>
    private static List<OverrideReason> LoadOverrideReasons(CodeSystem cs, CodeSystem findings)
    {
        var known = findings.Concept.Select(c => c.Code).ToHashSet(StringComparer.Ordinal);
        var result = new List<OverrideReason>();
        foreach (var concept in cs.Concept)
        {
            var code = concept.Code ?? throw new InvalidDataException($"fhir-profiles: {cs.Url} has a concept without a code.");
            var display = concept.Display ?? throw new InvalidDataException($"fhir-profiles: override reason {code} has no display.");
            var forFindings = concept.Property.Where(p => p.Code == "finding").Select(p => p.Value?.ToString()).OfType<string>().ToList();
            var unknown = forFindings.Where(f => !known.Contains(f)).ToList();
            if (unknown.Count > 0)
            {
                throw new InvalidDataException($"fhir-profiles: override reason {code} names unknown finding(s) {string.Join(", ", unknown)}.");
            }

            result.Add(new OverrideReason(cs.Url ?? OverrideReasonSystem, code, display, forFindings));
        }

        return result;
    }

    private static EvidenceFigures LoadFigures(Parameters parameters)
    {
        string Text(string name) => parameters.Parameter.FirstOrDefault(p => p.Name == name)?.Value?.ToString()
            ?? throw new InvalidDataException($"fhir-profiles: evidence parameter '{name}' is missing.");

        var figures = new Dictionary<string, EvidenceFigure>(StringComparer.Ordinal);
        foreach (var parameter in parameters.Parameter.Where(p => p.Part.Count > 0 && p.Name is not null))
        {
            DataType? Part(string name) => parameter.Part.FirstOrDefault(p => p.Name == name)?.Value;
            var value = Part("value") switch
            {
                FhirDecimal d when d.Value is { } v => v,
                Integer i when i.Value is { } v => v,
                _ => throw new InvalidDataException($"fhir-profiles: evidence figure '{parameter.Name}' has no numeric value."),
            };
            figures[parameter.Name!] = new EvidenceFigure(
                parameter.Name!,
                value,
                (Part("numerator") as Integer)?.Value,
                (Part("denominator") as Integer)?.Value,
                (Part("se") as FhirDecimal)?.Value,
                (Part("sd") as FhirDecimal)?.Value,
                Part("comparator")?.ToString(),
                Part("source")?.ToString() ?? throw new InvalidDataException($"fhir-profiles: evidence figure '{parameter.Name}' has no source."));
        }

        var missing = ClinicalKnowledge.RequiredFigureKeys.Where(k => !figures.ContainsKey(k)).ToList();
        if (missing.Count > 0)
        {
            throw new InvalidDataException($"fhir-profiles: evidence figures missing: {string.Join(", ", missing)}.");
        }

        return new EvidenceFigures(Text("citation"), Text("short-citation"), Text("citation-correction"), Text("benzodiazepine-protocol-reference"), Text("doi-url"), Text("limitations"), figures)
        {
            ShortCorrectionCitation = Text("short-citation-correction"),
            ShortProtocolReference = Text("short-benzodiazepine-protocol-reference"),
            ShortLimitations = Text("limitations-short"),
        };
    }

    private static T Parse<T>(string path, string json) where T : Resource
    {
        try
        {
            return FhirJson.ReadStrict<T>(json);
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            throw new InvalidDataException($"fhir-profiles: {path} is not a valid {typeof(T).Name}: {ex.Message}", ex);
        }
    }

    private static CodeSystem Required(Dictionary<string, CodeSystem> codeSystems, string url) =>
        codeSystems.TryGetValue(url.Split('|')[0], out var cs) ? cs : throw new InvalidDataException($"fhir-profiles: CodeSystem {url} is missing.");

    private static List<string> Citations(IEnumerable<Extension> extensions) =>
        extensions.Where(e => e.Url == CitationExtension).Select(e => e.Value?.ToString()).OfType<string>().ToList();

    private static string ReadResource(Assembly assembly, string name)
    {
        using var stream = assembly.GetManifestResourceStream(name)!;
        using var reader = new StreamReader(stream);
        return reader.ReadToEnd();
    }
}
