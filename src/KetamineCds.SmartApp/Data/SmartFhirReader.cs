using System.Text.Json;
using Hl7.Fhir.Model;
using KetamineCds.Clinical.Knowledge;
using KetamineCds.Clinical.Medications;
using KetamineCds.Clinical.Outcomes;
using KetamineCds.Clinical.Rules;
using KetamineCds.Fhir.Data;
using KetamineCds.Fhir.Facts;
using KetamineCds.Fhir.Fallback;
using KetamineCds.SmartApp.Launch;
using KetamineCds.SmartApp.Session;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace KetamineCds.SmartApp.Data;

/// <summary>The launched patient as the page shows them: demographics, the ketamine course, and the rules' evaluation.</summary>
public sealed record PatientPageModel(
    PatientHeader Patient,
    IReadOnlyList<RecognizedMedication> KetamineEntries,
    Evaluation Evaluation,
    int UnreadableResources,
    int ReadWithErrors,
    bool ObservationsAvailable,
    string? FocusFinding,
    DateTimeOffset AsOf)
{
    public OutcomeSummary? Outcomes => Evaluation.Outcomes;

    /// <summary>Every assessment total read (the charts plot those the outcome summary did not exclude).</summary>
    public IReadOnlyList<AssessmentScore> Scores { get; init; } = [];

    /// <summary>The benzodiazepine calculation under both tables (the rule's own), also when no finding was made; null without benzodiazepines.</summary>
    public BenzodiazepineAssessment? Benzodiazepines { get; init; }
}

/// <summary>Name, age and sex from the Patient resource; <see cref="Readable"/> is false when the Patient could not be read.</summary>
public sealed record PatientHeader(string Name, string? BirthDate, int? AgeYears, string? Sex, bool Readable);

/// <summary>
/// Reads the launched patient's data with the user's access token and evaluates it with the hooks' own calculator: the
/// Fhir edge's <see cref="PatientDataGatherer"/> (MedicationFactReader, AssessmentExtractor) over a
/// <see cref="FhirServerFallback"/> (Firely FhirClient, IHttpClientFactory, per-origin Polly pipelines, paging, the token
/// sent only to the registered FHIR origin), then <see cref="CdsEvaluator"/> with <see cref="HookKind.PatientView"/>.
/// </summary>
public sealed partial class SmartFhirReader
{
    public const string HttpClientName = "KetamineCds.SmartApp.Fhir";

    private static readonly PrefetchKey PatientSearch = new("patient", "Patient", "Patient?_id={{context.patientId}}", Required: false);
    private static readonly Dictionary<string, JsonElement> NoPrefetch = new(StringComparer.Ordinal);

    private readonly FhirServerFallback _fallback;
    private readonly PatientDataGatherer _gatherer;
    private readonly CdsEvaluator _evaluator;
    private readonly ClinicalKnowledge _knowledge;
    private readonly RuleSettings _ruleSettings;
    private readonly TimeProvider _time;
    private readonly ILogger<SmartFhirReader> _logger;

    public SmartFhirReader(
        IHttpMessageHandlerFactory handlers,
        SmartEhrRegistry registry,
        SmartFhirSettings settings,
        ResourceScreen medicationScreen,
        AssessmentExtractor assessments,
        CdsEvaluator evaluator,
        ClinicalKnowledge knowledge,
        RuleSettings ruleSettings,
        TimeProvider time,
        ILoggerFactory loggers)
    {
        ArgumentNullException.ThrowIfNull(settings);
        ArgumentNullException.ThrowIfNull(loggers);
        var policy = new FhirServerPolicy(registry, settings.Options);
        _fallback = new FhirServerFallback(new FixedNameHandlerFactory(handlers, HttpClientName), policy, settings.Options, loggers.CreateLogger<FhirServerFallback>());
        _gatherer = new PatientDataGatherer(_fallback, medicationScreen, assessments);
        _evaluator = evaluator;
        _knowledge = knowledge;
        _ruleSettings = ruleSettings;
        _time = time;
        _logger = loggers.CreateLogger<SmartFhirReader>();
    }

    public async Task<PatientPageModel> LoadAsync(SmartSession session, string? focusFinding, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(session);
        var access = new FhirServerAccess(session.FhirBase, session.AccessToken, "Bearer", session.Scope);
        var gathered = await _gatherer.GatherAsync(new GatherRequest(session.PatientId, NoPrefetch, null, null, access), cancellationToken);
        if (gathered.Data is null)
        {
            LogUnavailable(_logger, session.EhrName, string.Join(",", gathered.MissingKeys));
            throw new SmartProblemException(SmartProblemKind.FhirUnavailable,
                "The patient's medications could not be read from the EHR's FHIR server (it did not answer in time, or refused).");
        }

        var patientBatch = await _fallback.SearchAsync(access, PatientSearch, session.PatientId, null, cancellationToken);
        var patient = patientBatch.State == PrefetchState.Complete ? patientBatch.Resources.OfType<Patient>().FirstOrDefault(p => p.Id == session.PatientId) : null;

        var now = _time.GetUtcNow();
        var data = WithStoredDraftsAsDraftOrders(gathered.Data);
        var evaluation = _evaluator.Evaluate(HookKind.PatientView, data, now);
        LogLoaded(_logger, session.EhrName, gathered.Data.Medications.Count, gathered.Observations.Count, gathered.SkippedResources, evaluation.Findings.Count);
        if (!evaluation.Triggered)
        {
            throw new SmartProblemException(SmartProblemKind.NoKetamine,
                "No current ketamine or esketamine treatment was found in this patient's medication record, so there is no course to show.");
        }

        return new PatientPageModel(
            Header(patient, now),
            evaluation.KetamineEntries,
            evaluation,
            gathered.SkippedResources,
            gathered.ReadWithErrors,
            gathered.ObservationsAvailable,
            focusFinding,
            now)
        {
            Scores = gathered.Data.Assessments?.Scores ?? [],
            Benzodiazepines = evaluation.Findings.OfType<BenzodiazepineFinding>().FirstOrDefault()?.Assessment
                ?? BenzodiazepineRule.Assess(evaluation.Therapies, _knowledge, _ruleSettings.BenzodiazepineThresholdLorazepamMgPerDay),
        };
    }

    /// <summary>
    /// A MedicationRequest stored with status <c>draft</c> is an order being written, not yet signed: the hooks see such
    /// an order as a draft order (order-select/order-sign), and so does the app, so an unsigned ketamine course order opens
    /// the page (shown with its status) and an unsigned benzodiazepine order counts as the hooks would count it.
    /// </summary>
    internal static PatientData WithStoredDraftsAsDraftOrders(PatientData data)
    {
        static bool IsDraft(MedicationFact m) => m.Source == MedicationSource.Request && string.Equals(m.Status, "draft", StringComparison.Ordinal);
        if (!data.Medications.Any(IsDraft))
        {
            return data;
        }

        return data with
        {
            Medications = data.Medications.Where(m => !IsDraft(m)).ToList(),
            DraftOrders = [.. data.DraftOrders, .. data.Medications.Where(IsDraft).Select(m => m with { Source = MedicationSource.DraftOrder })],
        };
    }

    internal static PatientHeader Header(Patient? patient, DateTimeOffset now)
    {
        if (patient is null)
        {
            return new PatientHeader("(the patient's name could not be read)", null, null, null, Readable: false);
        }

        var name = patient.Name.FirstOrDefault(n => n?.Use == HumanName.NameUse.Official) ?? patient.Name.FirstOrDefault(n => n is not null);
        var display = name is null
            ? "(no name in the record)"
            : !string.IsNullOrWhiteSpace(name.Text)
                ? name.Text
                : string.Join(' ', name.Given.Append(name.Family).Where(p => !string.IsNullOrWhiteSpace(p)));
        string? sex;
        try
        {
            sex = patient.GenderElement?.JsonValue as string;
        }
        catch (InvalidCastException)
        {
            sex = null;
        }

        var birth = patient.BirthDate;
        int? age = null;
        if (birth is { Length: 10 } && DateOnly.TryParseExact(birth, "yyyy-MM-dd", System.Globalization.CultureInfo.InvariantCulture, System.Globalization.DateTimeStyles.None, out var born))
        {
            var today = DateOnly.FromDateTime(now.UtcDateTime);
            age = today.Year - born.Year - (today < born.AddYears(today.Year - born.Year) ? 1 : 0);
        }

        return new PatientHeader(string.IsNullOrWhiteSpace(display) ? "(no name in the record)" : display, birth, age, sex, Readable: true);
    }

    /// <summary>Gives FhirServerFallback the app's own named client (its own timeouts and circuit), whatever name it asks for.</summary>
    private sealed class FixedNameHandlerFactory(IHttpMessageHandlerFactory inner, string name) : IHttpMessageHandlerFactory
    {
        public HttpMessageHandler CreateHandler(string name1) => inner.CreateHandler(name);
    }

    [LoggerMessage(EventId = 3010, Level = LogLevel.Warning, Message = "SMART app: FHIR data unavailable: ehr={Ehr} missing={Missing}")]
    private static partial void LogUnavailable(ILogger logger, string ehr, string missing);

    [LoggerMessage(EventId = 3011, Level = LogLevel.Information,
        Message = "SMART app: patient page read: ehr={Ehr} medications={Medications} observations={Observations} skipped={Skipped} findings={Findings}")]
    private static partial void LogLoaded(ILogger logger, string ehr, int medications, int observations, int skipped, int findings);
}

/// <summary>The FHIR-read limits of the app (longer than a hook call's: a person is waiting for a page, not order entry).</summary>
public sealed class SmartFhirSettings : IDisposable
{
    public SmartFhirSettings(IOptions<SmartAppOptions> options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var o = options.Value;
        Options = Microsoft.Extensions.Options.Options.Create(new FhirFallbackOptions
        {
            DeadlineMilliseconds = o.FhirDeadlineMilliseconds,
            AttemptTimeoutMilliseconds = Math.Min(o.FhirAttemptTimeoutMilliseconds, o.FhirDeadlineMilliseconds),
            AllowHttpLoopback = o.AllowHttpLoopback,
            MaxPages = 20,
            MaxEntries = 5000,
            PageSize = 100,
            CircuitBreakSeconds = o.FhirCircuitBreakSeconds,
        });
        Pipelines = new FhirResiliencePipelines(Options);
    }

    public IOptions<FhirFallbackOptions> Options { get; }

    public FhirResiliencePipelines Pipelines { get; }

    public void Dispose() => Pipelines.Dispose();
}
