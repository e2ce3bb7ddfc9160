using System.Globalization;
using Hl7.Fhir.Model;

namespace KetamineCds.Fhir.Knowledge;

/// <summary>Reads concepts and concept properties of our CodeSystems; a missing one is a knowledge-artifact error.</summary>
internal static class CodeSystemProperties
{
    public static CodeSystem.ConceptDefinitionComponent Concept(CodeSystem cs, string code) =>
        cs.Concept.FirstOrDefault(c => c.Code == code) ?? throw new InvalidDataException($"fhir-profiles: {cs.Url} has no concept '{code}'.");

    public static string CodeProperty(CodeSystem.ConceptDefinitionComponent concept, string code) =>
        concept.Property.FirstOrDefault(p => p.Code == code)?.Value?.ToString()
        ?? throw new InvalidDataException($"fhir-profiles: concept {concept.Code} lacks property '{code}'.");

    public static decimal DecimalProperty(CodeSystem.ConceptDefinitionComponent concept, string code) =>
        OptionalDecimal(concept, code) ?? throw new InvalidDataException($"fhir-profiles: concept {concept.Code} lacks decimal property '{code}'.");

    public static decimal? OptionalDecimal(CodeSystem.ConceptDefinitionComponent concept, string code) =>
        concept.Property.FirstOrDefault(p => p.Code == code)?.Value switch
        {
            FhirDecimal d => d.Value,
            Integer i => i.Value,
            null => null,
            var other => decimal.Parse(other.ToString()!, CultureInfo.InvariantCulture),
        };

    public static bool BooleanProperty(CodeSystem.ConceptDefinitionComponent concept, string code) =>
        concept.Property.FirstOrDefault(p => p.Code == code)?.Value is FhirBoolean { Value: true };
}
