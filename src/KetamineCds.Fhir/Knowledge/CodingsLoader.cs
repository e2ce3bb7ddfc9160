using Hl7.Fhir.Model;
using KetamineCds.Clinical.Knowledge;
using static KetamineCds.Fhir.Knowledge.CodeSystemProperties;

namespace KetamineCds.Fhir.Knowledge;

/// <summary>
/// Loads the SNOMED CT and ATC mappings: the ConceptMap from SNOMED CT substances and ATC codes to our ingredients, and
/// the SNOMED CT product supplement (ingredient, strength, dose form, route). Both are generated from the reference
/// tables by fhir-profiles/tools/generate_terminology.py. A missing artifact, an unknown target ingredient or a group
/// of an unexpected system fails start-up: losing the SNOMED CT map in silence would make Oracle Health charts look
/// empty again.
/// </summary>
internal static class CodingsLoader
{
    public const string ConceptMapUrl = KnowledgeLoader.CanonicalBase + "/ConceptMap/medication-codes-to-ketamine-cds-ingredient";
    public const string SnomedProductsUrl = KnowledgeLoader.CanonicalBase + "/CodeSystem/snomed-product-ingredients";
    private const string SnomedSystem = "http://snomed.info/sct";
    private const string AtcSystem = "http://www.whocc.no/atc";

    /// <summary>Equivalences that let a source code stand for the target ingredient (a salt maps "wider" to its base).</summary>
    private static readonly HashSet<ConceptMapEquivalence> Usable =
        [ConceptMapEquivalence.Equivalent, ConceptMapEquivalence.Equal, ConceptMapEquivalence.Wider];

    /// <param name="codeSystems">The CodeSystems the knowledge loader already parsed, by canonical URL.</param>
    public static CodeMappings Load(IReadOnlyDictionary<string, string> artifacts, IReadOnlyDictionary<string, CodeSystem> codeSystems,
        IReadOnlyDictionary<string, Ingredient> ingredients)
    {
        var conceptMap = FindConceptMap(artifacts);
        var products = codeSystems.GetValueOrDefault(SnomedProductsUrl)
            ?? throw new InvalidDataException($"fhir-profiles: CodeSystem {SnomedProductsUrl} is missing.");

        var snomed = new Dictionary<string, string>(StringComparer.Ordinal);
        var atc = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var group in conceptMap.Group)
        {
            if (group.Target != KnowledgeLoader.IngredientSystem)
            {
                throw new InvalidDataException($"fhir-profiles: {ConceptMapUrl} maps to {group.Target}, not to {KnowledgeLoader.IngredientSystem}.");
            }

            var into = group.Source switch
            {
                SnomedSystem => snomed,
                AtcSystem => atc,
                var other => throw new InvalidDataException($"fhir-profiles: {ConceptMapUrl} has a group for {other}, which the classifier does not read."),
            };
            foreach (var element in group.Element)
            {
                foreach (var target in element.Target.Where(t => t.Equivalence is { } e && Usable.Contains(e)))
                {
                    if (element.Code is not { Length: > 0 } code || target.Code is null || !ingredients.ContainsKey(target.Code))
                    {
                        throw new InvalidDataException($"fhir-profiles: {ConceptMapUrl} maps {element.Code} to unknown ingredient '{target.Code}'.");
                    }

                    if (into.TryGetValue(code, out var existing) && existing != target.Code)
                    {
                        throw new InvalidDataException($"fhir-profiles: {ConceptMapUrl} maps {code} to both {existing} and {target.Code}.");
                    }

                    into[code] = target.Code;
                }
            }
        }

        var snomedProducts = KnowledgeLoader.LoadProducts(products, ingredients, MedicationCodeSystem.SnomedCt);
        return new CodeMappings(snomed, atc, snomedProducts);
    }

    private static ConceptMap FindConceptMap(IReadOnlyDictionary<string, string> artifacts)
    {
        foreach (var (path, json) in artifacts.Where(a => Path.GetFileName(a.Key).StartsWith("ConceptMap-", StringComparison.Ordinal)
                                                          && !a.Key.StartsWith("tools/", StringComparison.Ordinal)))
        {
            ConceptMap map;
            try
            {
                map = FhirJson.ReadStrict<ConceptMap>(json);
            }
            catch (Exception ex) when (ex is not OutOfMemoryException)
            {
                throw new InvalidDataException($"fhir-profiles: {path} is not a valid ConceptMap: {ex.Message}", ex);
            }

            if (map.Url == ConceptMapUrl)
            {
                return map;
            }
        }

        throw new InvalidDataException($"fhir-profiles: ConceptMap {ConceptMapUrl} is missing.");
    }
}
