using System.Diagnostics;
using System.Text.Json;
using KetamineCds.Api.Audit;
using KetamineCds.Api.Feedback;
using KetamineCds.Api.Infrastructure;
using KetamineCds.Fhir.Data;

namespace KetamineCds.Api.CdsHooks;

/// <summary>
/// One hook call, in one direction: HTTP edge -> parse/validate -> gather FHIR data -> evaluate rules -> cards.
/// Every refusal is an OperationOutcome with the right status; nothing here answers 500.
/// </summary>
public sealed class HookHandler(
    HookPipeline pipeline,
    IAuditSink audit,
    JsonRequestReader reader,
    ILogger<HookHandler> logger,
    CardReviewStep? reviewStep = null)
{
    public async Task<IResult> HandleAsync(string serviceId, HttpContext http, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(http);
        var started = Stopwatch.GetTimestamp();
        var service = CdsServiceCatalog.Find(serviceId);
        if (service is null)
        {
            return Refuse(serviceId, new RequestError(StatusCodes.Status404NotFound, "not-found", $"No CDS service '{serviceId}'. See GET /cds-services."));
        }

        JsonDocument? document;
        SplitRequest? split;
        RequestError? readError;
        using (CdsTelemetry.Time("parse", serviceId))
        {
            (document, split, readError) = await reader.ReadHookAsync(http, cancellationToken);
        }

        if (readError is not null)
        {
            return Refuse(serviceId, readError);
        }

        using (document)
        {
            var outcome = await pipeline.RunAsync(service, document!.RootElement, cancellationToken, http.User.FindFirst("iss")?.Value, split?.Bundles);
            if (reviewStep is not null && outcome is { Response: { } response, PatientId: { } patient, HookInstance: { } instance })
            {
                // After rendering: quiet what was overridden, mark what was reviewed, record what is shown (docs/rules/override-and-snooze.md).
                outcome = outcome with
                {
                    Response = response with { Cards = await reviewStep.ApplyAsync(service, instance, patient, outcome.UserId, response.Cards, cancellationToken) },
                };
            }

            if (outcome.PatientId is { } patientId)
            {
                // The audit record (written by the audit middleware) gets the keyed hash of the patient id, never the id.
                audit.Describe(http, outcome.HookInstance!, patientId, outcome.Response?.Cards.Count ?? 0, outcome.Findings);
            }

            if (outcome.Error is { } error)
            {
                return error.Status == StatusCodes.Status412PreconditionFailed
                    ? OperationOutcomes.Result(error.Status, error.Code, error.Message)
                    : Refuse(serviceId, error);
            }

            foreach (var finding in outcome.Findings)
            {
                CdsTelemetry.CardIssued(serviceId, finding);
            }

            if (logger.IsEnabled(LogLevel.Debug))
            {
                // Debug only: the audit record is the one Information line per call; the joins below are not paid otherwise.
                Log.HookAnswered(logger, serviceId, outcome.HookInstance!, outcome.Triggered, outcome.Response!.Cards.Count,
                    string.Join(",", outcome.Findings), outcome.UnreadableResources,
                    string.Join(",", outcome.Sources.Select(s => $"{s.Key}:{s.Value}")),
                    (long)Stopwatch.GetElapsedTime(started).TotalMilliseconds);
            }

            // Written straight into the body by CdsResponseJson: the same bytes as JsonSerializer with CdsJson.Options.
            return new CdsResponseResult(outcome.Response);
        }
    }

    private IResult Refuse(string serviceId, RequestError error) => OperationOutcomes.Refuse(logger, serviceId, error);
}
