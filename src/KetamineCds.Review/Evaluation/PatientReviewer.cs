using System.Text;
using System.Text.Json;
using KetamineCds.Clinical.Knowledge;
using KetamineCds.Clinical.Medications;
using KetamineCds.Clinical.Outcomes;
using KetamineCds.Clinical.Rules;
using KetamineCds.Fhir.Data;
using KetamineCds.Review.Grouping;

namespace KetamineCds.Review.Evaluation;

/// <summary>One patient's records, gathered from the spill buckets.</summary>
public sealed class PatientRecords(string patientId)
{
    public string PatientId { get; } = patientId;
    public byte[]? Patient { get; set; }
    public List<SpilledRecord> Medications { get; } = [];
    public List<SpilledRecord> Observations { get; } = [];
}

/// <summary>What reviewing one patient gave: a row when the patient is on ketamine/esketamine.</summary>
public sealed record PatientOutcome(ReviewRow? Row, int Unusable);

/// <summary>
/// Evaluates one patient exactly as a patient-view hook call would: the patient's records become the prefetch the
/// hooks receive (searchset Bundles, Medications as _include), <see cref="PatientDataGatherer"/> reads them into
/// PatientData, and <see cref="CdsEvaluator"/> runs the rules with <see cref="HookKind.PatientView"/>.
/// </summary>
public sealed class PatientReviewer(ClinicalEngine engine, IReadOnlyDictionary<string, string> medications, bool observationsInExport, DateTimeOffset asOf)
{
    public async Task<PatientOutcome> ReviewAsync(PatientRecords records, IFindingFeedbackLookup? feedback, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(records);
        if (records.Medications.Count == 0)
        {
            return new PatientOutcome(null, 0);
        }

        var statements = new List<string>();
        var requests = new List<string>();
        var included = new HashSet<string>(StringComparer.Ordinal);
        foreach (var record in records.Medications)
        {
            var target = record.MedicationKey is { } key && medications.TryGetValue(key, out var med) ? med : null;
            if (!record.NameMatched && target is null)
            {
                // Names none of our medications and points to no Medication that does: cannot change a finding.
                continue;
            }

            (record.Kind == SpilledKind.MedicationStatement ? statements : requests).Add(Encoding.UTF8.GetString(record.Json));
            if (target is not null && included.Add(record.MedicationKey!))
            {
                (record.Kind == SpilledKind.MedicationStatement ? statements : requests).Add(target);
            }
        }

        if (statements.Count == 0 && requests.Count == 0)
        {
            return new PatientOutcome(null, 0);
        }

        using var statementBundle = JsonDocument.Parse(Bundle(statements));
        using var requestBundle = JsonDocument.Parse(Bundle(requests));
        using var observationBundle = observationsInExport ? JsonDocument.Parse(Bundle(records.Observations.Select(o => Encoding.UTF8.GetString(o.Json)))) : null;
        var prefetch = new Dictionary<string, JsonElement>(StringComparer.Ordinal)
        {
            [PrefetchKeys.MedicationStatements.Key] = statementBundle.RootElement,
            [PrefetchKeys.MedicationRequests.Key] = requestBundle.RootElement,
        };
        if (observationBundle is not null)
        {
            prefetch[PrefetchKeys.Observations.Key] = observationBundle.RootElement;
        }

        var gathered = await engine.Gatherer.GatherAsync(new GatherRequest(records.PatientId, prefetch, null, null, null), cancellationToken);
        var unusable = gathered.SkippedResources + gathered.ReadWithErrors;
        if (gathered.Data is not { } data)
        {
            return new PatientOutcome(null, unusable);
        }

        var evaluation = engine.Evaluator.Evaluate(HookKind.PatientView, data, asOf);
        if (!evaluation.Triggered)
        {
            return new PatientOutcome(null, 0);
        }

        var row = await BuildRowAsync(records, data, evaluation, unusable, feedback, cancellationToken);
        return new PatientOutcome(row, unusable);
    }

    private async Task<ReviewRow> BuildRowAsync(PatientRecords records, PatientData data, KetamineCds.Clinical.Rules.Evaluation evaluation,
        int unusable, IFindingFeedbackLookup? feedback, CancellationToken cancellationToken)
    {
        var ketamine = data.Medications
            .Where(m => MedicationStatusPolicy.IsCurrent(m, asOf))
            .Select(engine.Classifier.Classify)
            .OfType<RecognizedMedication>()
            .Where(m => m.Ingredient.Class == DrugClass.Ketamine)
            .Select(m => Describe(m.Fact.DisplayName, m.Fact.Route ?? m.Product?.Route))
            .Distinct(StringComparer.Ordinal)
            .ToList();

        var lamotrigine = evaluation.Findings.OfType<LamotrigineFinding>().FirstOrDefault();
        var benzodiazepines = BenzodiazepineRule.Assess(evaluation.Therapies, engine.Knowledge, engine.Settings.BenzodiazepineThresholdLorazepamMgPerDay);
        var undetermined = new List<UndeterminedDose>();
        if (lamotrigine is not null)
        {
            undetermined.AddRange(lamotrigine.Therapies.Where(t => t.Dose.MgPerDay is null)
                .Select(t => new UndeterminedDose(t.DisplayName, t.Dose.UnknownReason ?? "dose could not be determined")));
        }

        if (benzodiazepines is not null)
        {
            undetermined.AddRange(benzodiazepines.NotCounted
                .Where(l => l.Therapy.Ingredient.Class == DrugClass.Benzodiazepine)
                .Select(l => new UndeterminedDose(l.Therapy.DisplayName, l.NotCountedReason!)));
        }

        var summary = evaluation.Findings.OfType<KetamineCourseFinding>().FirstOrDefault()?.Outcomes ?? lamotrigine?.Outcomes;
        var findingCodes = evaluation.Findings.Select(f => f.Code).Distinct(StringComparer.Ordinal).ToList();
        var feedbackByFinding = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var code in findingCodes)
        {
            feedbackByFinding[code] = feedback is null
                ? "not available"
                : await feedback.LatestAsync(records.PatientId, code, cancellationToken) ?? "none";
        }

        var (name, birthDate) = ReadPatient(records.Patient);
        return new ReviewRow
        {
            PatientId = records.PatientId,
            PatientName = name,
            BirthDate = birthDate,
            Ketamine = ketamine,
            Lamotrigine = lamotrigine?.Therapies.Select(t => Describe(t.DisplayName, t.Route)).ToList() ?? [],
            LamotrigineMgPerDay = lamotrigine?.MgPerDay,
            LamotrigineCategory = lamotrigine?.Category.ToString().ToLowerInvariant(),
            Benzodiazepines = benzodiazepines?.Lines.Select(l => new BenzodiazepineRow(
                l.Therapy.DisplayName, l.Therapy.Route, l.MgPerDay, l.Dose.Calculation,
                l.LorazepamEquivalentMgPerDay, l.LorazepamEquivalentMgPerDayAlternate, l.NotCountedReason)).ToList() ?? [],
            // No total when no line was counted: an undosable benzodiazepine is never shown as 0 mg/day.
            BenzodiazepineTotalPrimary = benzodiazepines?.Lines.Any(l => l.Counted) == true ? benzodiazepines.TotalPrimary : null,
            BenzodiazepineTotalAlternate = benzodiazepines?.Lines.Any(l => l.Counted) == true ? benzodiazepines.TotalAlternate : null,
            BenzodiazepineThresholdMgPerDay = benzodiazepines?.ThresholdMgPerDay,
            UndeterminedDoses = undetermined,
            Qids = Course(data, summary),
            Findings = findingCodes,
            Feedback = feedbackByFinding,
            UnreadableRecords = unusable,
        };
    }

    private QidsCourse Course(PatientData data, OutcomeSummary? summary)
    {
        if (!observationsInExport)
        {
            return new QidsCourse("not available: the export holds no Observation file", null, null, null, null, null, 0, 0, null, null);
        }

        if (data.Assessments is null || summary is null || summary.Qids.Count == 0)
        {
            var excluded = summary?.ExcludedCount ?? data.Assessments?.Excluded.Count ?? 0;
            return new QidsCourse(excluded > 0 ? $"no usable QIDS-SR16 score ({excluded} excluded)" : "no QIDS-SR16 score in the export",
                null, null, null, null, null, 0, excluded, null, null);
        }

        var qids = summary.Qids;
        return new QidsCourse("available", qids.Baseline, qids.Latest, qids.PercentChange, qids.Response, qids.Remission,
            qids.Count, summary.ExcludedCount, qids.BaselineScore?.When, qids.LatestScore?.When);
    }

    private static string Describe(string name, string? route) =>
        string.IsNullOrWhiteSpace(route) || name.Contains(route, StringComparison.OrdinalIgnoreCase) ? name : $"{name} ({route})";

    private static string Bundle(IEnumerable<string> resources)
    {
        var builder = new StringBuilder("{\"resourceType\":\"Bundle\",\"type\":\"searchset\",\"entry\":[");
        var first = true;
        foreach (var resource in resources)
        {
            builder.Append(first ? "{\"resource\":" : ",{\"resource\":").Append(resource).Append('}');
            first = false;
        }

        return builder.Append("]}").ToString();
    }

    /// <summary>Name and birth date for the pharmacist, read with System.Text.Json (no rule needs the Patient).</summary>
    private static (string? Name, string? BirthDate) ReadPatient(byte[]? json)
    {
        if (json is null)
        {
            return (null, null);
        }

        using var document = JsonDocument.Parse(json);
        var root = document.RootElement;
        string? birthDate = root.TryGetProperty("birthDate", out var b) && b.ValueKind == JsonValueKind.String ? b.GetString() : null;
        string? name = null;
        if (root.TryGetProperty("name", out var names) && names.ValueKind == JsonValueKind.Array)
        {
            foreach (var n in names.EnumerateArray())
            {
                if (n.ValueKind != JsonValueKind.Object)
                {
                    continue;
                }

                if (n.TryGetProperty("text", out var text) && text.ValueKind == JsonValueKind.String)
                {
                    name = text.GetString();
                }
                else
                {
                    var given = n.TryGetProperty("given", out var g) && g.ValueKind == JsonValueKind.Array
                        ? string.Join(' ', g.EnumerateArray().Where(x => x.ValueKind == JsonValueKind.String).Select(x => x.GetString()))
                        : "";
                    var family = n.TryGetProperty("family", out var f) && f.ValueKind == JsonValueKind.String ? f.GetString() : "";
                    name = $"{family}, {given}".Trim(' ', ',');
                }

                if (!string.IsNullOrEmpty(name))
                {
                    break;
                }
            }
        }

        return (string.IsNullOrEmpty(name) ? null : name, birthDate);
    }

    internal static string Format(decimal? value) => value is { } v ? v.ToString("0.###", System.Globalization.CultureInfo.InvariantCulture) : "";
}
