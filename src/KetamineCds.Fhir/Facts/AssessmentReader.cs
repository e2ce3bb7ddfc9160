using System.Globalization;
using Hl7.Fhir.Model;
using KetamineCds.Clinical.Outcomes;
using KetamineCds.Fhir.Knowledge;
using static KetamineCds.Fhir.Knowledge.CodeSystemProperties;

namespace KetamineCds.Fhir.Facts;

/// <summary>What reading one Observation gave.</summary>
public enum AssessmentReadStatus
{
    /// <summary>A usable assessment total: <see cref="AssessmentReading.Score"/> is set.</summary>
    Score,

    /// <summary>Not one of the recognized assessment codes: ignore.</summary>
    NotAnAssessment,

    /// <summary>A recognized code but a status other than final, amended or corrected (preliminary, entered-in-error...): ignore.</summary>
    NotFinal,

    /// <summary>A recognized, final assessment without a usable value or date: <see cref="AssessmentReading.Excluded"/> says why.</summary>
    Unreadable,
}

/// <summary>The outcome of reading one Observation.</summary>
public sealed record AssessmentReading(AssessmentReadStatus Status, AssessmentKind? Kind, AssessmentScore? Score, ExcludedScore? Excluded);

/// <summary>
/// Reads assessment-total Observations (QIDS-SR16, CADSS) into <see cref="AssessmentScore"/>. Recognizes the local codes of
/// CodeSystem ketamine-cds-assessment and, per site, extra codes (an EHR's flowsheet codes) from configuration. Thread-safe.
/// </summary>
public sealed class AssessmentReader
{
    public const string AssessmentSystem = KnowledgeLoader.CanonicalBase + "/CodeSystem/ketamine-cds-assessment";
    public const string QidsSr16TotalCode = "qids-sr16-total";
    public const string CadssTotalCode = "cadss-total";

    // A final result, or a final result changed later; "preliminary", "registered", "cancelled", "entered-in-error" and
    // "unknown" are not scores a clinician would act on.
    private static readonly HashSet<string> UsableStatuses = new(StringComparer.Ordinal) { "final", "amended", "corrected" };

    private readonly Dictionary<(string System, string Code), AssessmentKind> _codes = new()
    {
        [(AssessmentSystem, QidsSr16TotalCode)] = AssessmentKind.QidsSr16,
        [(AssessmentSystem, CadssTotalCode)] = AssessmentKind.Cadss,
    };

    /// <param name="extraCodes">Site-configured codes per assessment, e.g. an EHR flowsheet row for the QIDS-SR16 total.
    /// A code configured for two assessments is a configuration error.</param>
    public AssessmentReader(IReadOnlyDictionary<AssessmentKind, IReadOnlyList<(string System, string Code)>>? extraCodes = null)
    {
        foreach (var (kind, codes) in extraCodes ?? new Dictionary<AssessmentKind, IReadOnlyList<(string System, string Code)>>())
        {
            foreach (var (system, code) in codes)
            {
                if (string.IsNullOrWhiteSpace(system) || string.IsNullOrWhiteSpace(code))
                {
                    throw new ArgumentException($"An extra {kind} code needs both a system and a code.", nameof(extraCodes));
                }

                if (_codes.TryGetValue((system, code), out var existing) && existing != kind)
                {
                    throw new ArgumentException($"Code {system}|{code} is configured for both {existing} and {kind}.", nameof(extraCodes));
                }

                _codes[(system, code)] = kind;
            }
        }
    }

    /// <summary>Every code that names an assessment total (ours and the site's), for the Observation pre-screen.</summary>
    public IEnumerable<string> Codes => _codes.Keys.Select(k => k.Code);

    /// <summary>Which assessment the Observation's code names, if any (status and value not checked).</summary>
    public AssessmentKind? Recognize(Observation observation)
    {
        ArgumentNullException.ThrowIfNull(observation);
        foreach (var coding in observation.Code?.Coding ?? [])
        {
            if (coding.System is { } system && coding.Code is { } code && _codes.TryGetValue((system, code), out var kind))
            {
                return kind;
            }
        }

        return null;
    }

    public AssessmentReading Read(Observation observation)
    {
        ArgumentNullException.ThrowIfNull(observation);
        if (Recognize(observation) is not { } kind)
        {
            return new AssessmentReading(AssessmentReadStatus.NotAnAssessment, null, null, null);
        }

        // Read raw: the tolerant parser may have kept an unknown status code, and the typed getter would throw.
        var status = observation.StatusElement?.JsonValue?.ToString();
        if (status is null || !UsableStatuses.Contains(status))
        {
            return new AssessmentReading(AssessmentReadStatus.NotFinal, kind, null, null);
        }

        var reference = $"Observation/{observation.Id}";
        var score = observation.Value switch
        {
            Integer { Value: { } i } => (decimal?)i,
            Quantity { Value: { } q } => q,
            FhirDecimal { Value: { } d } => d, // not an R4 Observation.value type, but accepted when built in code
            _ => null,
        };
        if (score is null)
        {
            return Unreadable(kind, reference, observation.DataAbsentReason is { } absent
                ? $"no value ({absent.Text ?? absent.Coding.FirstOrDefault()?.Code ?? "data absent"})"
                : $"no integer or quantity value ({observation.Value?.TypeName ?? "none"})");
        }

        var when = When(observation);
        if (when is null)
        {
            return Unreadable(kind, reference, "no effective date or issued instant");
        }

        return new AssessmentReading(AssessmentReadStatus.Score, kind, new AssessmentScore(reference, kind, when.Value, score.Value), null);
    }

    /// <summary>Reads every recognized Observation; scores and exclusions in one pass.</summary>
    public (IReadOnlyList<AssessmentScore> Scores, IReadOnlyList<ExcludedScore> Excluded) ReadAll(IEnumerable<Observation> observations)
    {
        ArgumentNullException.ThrowIfNull(observations);
        var scores = new List<AssessmentScore>();
        var excluded = new List<ExcludedScore>();
        foreach (var reading in observations.Select(Read))
        {
            if (reading.Score is { } score)
            {
                scores.Add(score);
            }
            else if (reading.Excluded is { } ex)
            {
                excluded.Add(ex);
            }
        }

        return (scores, excluded);
    }

    /// <summary>
    /// Loads the outcome definitions and score ranges from CodeSystem ketamine-cds-assessment (the concept properties
    /// response-min-percent-reduction, remission-max-score, score-min, score-max). Missing values fail start-up.
    /// </summary>
    public static OutcomeDefinitions LoadDefinitions(IReadOnlyDictionary<string, string> artifacts)
    {
        ArgumentNullException.ThrowIfNull(artifacts);
        CodeSystem? codeSystem = null;
        foreach (var (path, json) in artifacts)
        {
            if (Path.GetFileName(path).StartsWith("CodeSystem-", StringComparison.Ordinal) && json.Contains(AssessmentSystem, StringComparison.Ordinal))
            {
                var candidate = FhirJson.ReadStrict<CodeSystem>(json);
                if (candidate.Url == AssessmentSystem)
                {
                    codeSystem = candidate;
                    break;
                }
            }
        }

        if (codeSystem is null)
        {
            throw new InvalidDataException($"fhir-profiles: CodeSystem {AssessmentSystem} is missing.");
        }

        var qids = Concept(codeSystem, QidsSr16TotalCode);
        var cadss = Concept(codeSystem, CadssTotalCode);
        return new OutcomeDefinitions(
            DecimalProperty(qids, "response-min-percent-reduction"),
            DecimalProperty(qids, "remission-max-score"),
            new ScoreRange(DecimalProperty(qids, "score-min"), DecimalProperty(qids, "score-max")),
            new ScoreRange(DecimalProperty(cadss, "score-min"), DecimalProperty(cadss, "score-max")));
    }

    private static AssessmentReading Unreadable(AssessmentKind kind, string reference, string detail) =>
        new(AssessmentReadStatus.Unreadable, kind, null, new ExcludedScore(reference, kind, ExclusionReason.Unreadable, detail));

    private static DateTimeOffset? When(Observation observation)
    {
        var raw = observation.Effective switch
        {
            FhirDateTime dateTime => dateTime.Value,
            Instant instant => instant.Value?.ToString("o", CultureInfo.InvariantCulture),
            Period period => period.Start,
            _ => null,
        };
        raw ??= observation.Issued?.ToString("o", CultureInfo.InvariantCulture);
        return raw is null ? null : MedicationFactReader.ParseDate(raw, endOfPeriod: false);
    }
}
