using System.Text.Json;
using KetamineCds.Api.Cards;
using KetamineCds.Api.Infrastructure;
using KetamineCds.Clinical.Rules;
using KetamineCds.Fhir.Data;
using KetamineCds.Fhir.Fallback;

namespace KetamineCds.Api.CdsHooks;

/// <summary>The result of one hook call: the cards, or the error to answer with.</summary>
public sealed record HookOutcome(
    CdsServiceResponse? Response,
    RequestError? Error,
    string? HookInstance = null,
    bool Triggered = false,
    IReadOnlyList<string>? FindingCodes = null,
    int UnreadableResources = 0,
    IReadOnlyDictionary<string, string>? DataSources = null,
    string? PatientId = null,
    string? UserId = null)
{
    public IReadOnlyList<string> Findings => FindingCodes ?? [];
    public IReadOnlyDictionary<string, string> Sources => DataSources ?? new Dictionary<string, string>();
}

/// <summary>
/// The hook call without HTTP: validate the request, gather the FHIR data, evaluate the rules, render the cards.
/// Used by the HTTP handler and by the benchmarks.
/// </summary>
public sealed class HookPipeline(
    PatientDataGatherer gatherer,
    CdsEvaluator evaluator,
    CardRenderer renderer,
    TimeProvider time,
    ILogger<HookPipeline> logger,
    FhirServerPolicy? fhirServerPolicy = null)
{
    /// <param name="callerIssuer">The verified issuer of the caller's JWT (null when signing is off in tests): it decides which FHIR servers the request may name.</param>
    /// <param name="split">The prefetch Bundles' entries when the request was split (<see cref="JsonRequestReader.ReadHookAsync"/>):
    /// <paramref name="root"/> is then the envelope, whose Bundles' entry arrays are empty.</param>
    public async Task<HookOutcome> RunAsync(CdsService service, JsonElement root, CancellationToken cancellationToken, string? callerIssuer = null,
        IReadOnlyDictionary<string, SplitBundle>? split = null)
    {
        ArgumentNullException.ThrowIfNull(service);
        HookRequest request;
        RequestError? error;
        using (CdsTelemetry.Time("validate", service.Descriptor.Id))
        {
            request = HookRequestParser.Parse(root, service, out error);
        }

        if (error is not null)
        {
            return new HookOutcome(null, error);
        }

        // fhirServer is untrusted: one not allowed for this caller is refused before any outbound request, even when
        // prefetch is complete (a request naming a forbidden server is not one to act on).
        if (request.FhirServer is not null && fhirServerPolicy?.Evaluate(callerIssuer, request.FhirServer) is { Allowed: false } refusal)
        {
            return new HookOutcome(null, new RequestError(StatusCodes.Status403Forbidden, "forbidden", refusal.Reason), request.HookInstance, PatientId: request.PatientId);
        }

        GatherResult gathered;
        using (CdsTelemetry.Time("gather", service.Descriptor.Id))
        {
            gathered = await gatherer.GatherAsync(
                new GatherRequest(request.PatientId, request.Prefetch, request.DraftOrders, request.Selections, request.Server) { SplitPrefetch = split },
                cancellationToken);
        }

        if (gathered.Data is null)
        {
            Log.HookDataMissing(logger, service.Descriptor.Id, request.HookInstance, string.Join(",", gathered.MissingKeys));
            return new HookOutcome(null, new RequestError(StatusCodes.Status412PreconditionFailed, "incomplete",
                $"The patient's data could not be obtained: {string.Join(", ", gathered.MissingKeys)} " +
                "was neither prefetched nor readable from the FHIR server. Send it as prefetch, or send fhirServer and fhirAuthorization."),
                request.HookInstance, PatientId: request.PatientId);
        }

        Evaluation evaluation;
        using (CdsTelemetry.Time("rules", service.Descriptor.Id))
        {
            evaluation = evaluator.Evaluate(service.Kind, gathered.Data, time.GetUtcNow());
        }

        var findings = evaluation.Findings;
        if (evaluation.Triggered && findings.Count == 0 && gathered.SkippedResources > 0)
        {
            findings = [new UnreadableDataFinding(gathered.SkippedResources)];
        }

        IReadOnlyList<Card> cards;
        using (CdsTelemetry.Time("render", service.Descriptor.Id))
        {
            cards = evaluation.Triggered
                ? renderer.Render(findings, new RenderContext(gathered.SkippedResources, gathered.ObservationsAvailable, gathered.ReadWithErrors, request.HookInstance))
                : [];
        }

        return new HookOutcome(new CdsServiceResponse(cards), null, request.HookInstance, evaluation.Triggered,
            findings.Select(f => f.Code).ToList(), gathered.SkippedResources, gathered.Sources, request.PatientId, request.UserId);
    }
}
