using Hl7.Fhir.Model;
using KetamineCds.Clinical.Dosing;
using static KetamineCds.Fhir.Knowledge.CodeSystemProperties;

namespace KetamineCds.Fhir.Knowledge;

/// <summary>
/// Loads the sig vocabulary CodeSystem (terminology/CodeSystem-ketamine-cds-sig-vocabulary.json) into a
/// <see cref="SigVocabulary"/>. A concept without its kind, a frequency without its schedule, a unit without its UCUM
/// code or a route without its route-class fails start-up: a reader that silently lost "bid" or "IV" would miscount.
/// </summary>
internal static class SigVocabularyLoader
{
    public const string Url = KnowledgeLoader.CanonicalBase + "/CodeSystem/ketamine-cds-sig-vocabulary";

    /// <summary>Kinds the reader cannot work without.</summary>
    private static readonly SigTermKind[] RequiredKinds =
    [
        SigTermKind.Frequency, SigTermKind.Times, SigTermKind.TimesMarker, SigTermKind.Number, SigTermKind.DoseUnit,
        SigTermKind.PeriodUnit, SigTermKind.Route, SigTermKind.Prn, SigTermKind.Maximum, SigTermKind.Instruction,
    ];

    public static SigVocabulary Load(CodeSystem cs)
    {
        ArgumentNullException.ThrowIfNull(cs);
        var terms = cs.Concept.Select(c => Term(cs, c)).ToList();
        var missing = RequiredKinds.Where(k => terms.All(t => t.Kind != k)).ToList();
        if (missing.Count > 0)
        {
            throw new InvalidDataException($"fhir-profiles: {cs.Url} has no concepts of kind {string.Join(", ", missing)}.");
        }

        return new SigVocabulary(terms);
    }

    private static SigTerm Term(CodeSystem cs, CodeSystem.ConceptDefinitionComponent concept)
    {
        var code = concept.Code ?? throw new InvalidDataException($"fhir-profiles: {cs.Url} has a concept without a code.");
        var kind = CodeProperty(concept, "kind") switch
        {
            "frequency" => SigTermKind.Frequency,
            "times" => SigTermKind.Times,
            "times-marker" => SigTermKind.TimesMarker,
            "number" => SigTermKind.Number,
            "dose-unit" => SigTermKind.DoseUnit,
            "period-unit" => SigTermKind.PeriodUnit,
            "route" => SigTermKind.Route,
            "prn" => SigTermKind.Prn,
            "maximum" => SigTermKind.Maximum,
            "form" => SigTermKind.Form,
            "instruction" => SigTermKind.Instruction,
            "filler" => SigTermKind.Filler,
            "total-marker" => SigTermKind.TotalMarker,
            "dispense" => SigTermKind.Dispense,
            var other => throw new InvalidDataException($"fhir-profiles: sig vocabulary concept {code} has unknown kind '{other}'."),
        };

        // Phrases are matched on lower-case words, as the reader's tokenizer produces them.
        var phrases = concept.Designation.Select(d => d.Value).OfType<string>().Where(v => v.Length > 0)
            .Select(v => v.ToLowerInvariant()).Distinct(StringComparer.Ordinal).ToList();
        if (phrases.Count == 0)
        {
            throw new InvalidDataException($"fhir-profiles: sig vocabulary concept {code} has no phrases (designations).");
        }

        string? Optional(string property) => concept.Property.FirstOrDefault(p => p.Code == property)?.Value?.ToString();
        var term = new SigTerm(code, kind, concept.Display ?? code, phrases)
        {
            Frequency = OptionalDecimal(concept, "frequency") is { } f ? (int)f : null,
            Period = OptionalDecimal(concept, "period"),
            PeriodUnit = Optional("period-unit"),
            GtsCode = Optional("gts-code"),
            Value = OptionalDecimal(concept, "value"),
            Ucum = Optional("ucum"),
            UnitText = Optional("unit-text"),
            IsMass = BooleanProperty(concept, "mass"),
            IsVolume = BooleanProperty(concept, "volume"),
            RouteClass = Optional("route-class") switch
            {
                "oral" => RouteClass.Oral,
                "non-oral" => RouteClass.NonOral,
                null => RouteClass.Unrecognized,
                var other => throw new InvalidDataException($"fhir-profiles: sig vocabulary concept {code} has unknown route-class '{other}'."),
            },
            SnomedRoute = Optional("snomed-route"),
            V3Route = Optional("v3-route"),
            IsGenericRoute = BooleanProperty(concept, "generic"),
            DosesPerAdministration = OptionalDecimal(concept, "doses-per-administration") is { } n ? (int)n : 1,
            RequiresUnit = BooleanProperty(concept, "requires-unit"),
        };

        var problem = kind switch
        {
            SigTermKind.Frequency when term is not { Frequency: > 0, Period: > 0, PeriodUnit: not null } => "frequency, period and period-unit",
            SigTermKind.Number or SigTermKind.Times when term.Value is not > 0 => "a positive value",
            SigTermKind.DoseUnit or SigTermKind.PeriodUnit when term.Ucum is null => "a ucum code",
            SigTermKind.Route when term.RouteClass == RouteClass.Unrecognized => "a route-class",
            _ => null,
        };
        return problem is null
            ? term
            : throw new InvalidDataException($"fhir-profiles: sig vocabulary concept {code} ({kind}) lacks {problem}.");
    }
}
