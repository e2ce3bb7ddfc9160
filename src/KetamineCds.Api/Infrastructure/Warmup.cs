using System.Text.Json;
using KetamineCds.Api.CdsHooks;
using KetamineCds.Clinical.Knowledge;

namespace KetamineCds.Api.Infrastructure;

/// <summary>
/// Runs one synthetic hook call at start-up, before the service accepts traffic, so the first clinician does not pay
/// for loading the knowledge and for Firely's model reflection (110-200 ms measured: ENGINEERING-NOTES).
/// </summary>
public static class Warmup
{
    private const string Request = """
        {"hook":"order-sign","hookInstance":"warmup","context":{"userId":"Practitioner/warmup","patientId":"warmup",
         "draftOrders":{"resourceType":"Bundle","type":"collection","entry":[{"resource":{"resourceType":"MedicationRequest","id":"k",
           "status":"draft","intent":"order","subject":{"reference":"Patient/warmup"},"medicationCodeableConcept":{"text":"ketamine"}}}]}},
         "prefetch":{"medicationStatements":{"resourceType":"Bundle","type":"searchset","entry":[{"resource":{"resourceType":"MedicationStatement",
           "id":"s","status":"active","subject":{"reference":"Patient/warmup"},"medicationCodeableConcept":{"text":"lamotrigine"},
           "dosage":[{"text":"50 mg bid","timing":{"code":{"text":"BID"}},"doseAndRate":[{"doseQuantity":{"value":50,"unit":"mg","code":"mg"}}]}]}}]},
          "medicationRequests":{"resourceType":"Bundle","type":"searchset"},"observations":{"resourceType":"Bundle","type":"searchset"}}}
        """;

    public static async Task RunAsync(IServiceProvider services)
    {
        ArgumentNullException.ThrowIfNull(services);
        var options = services.GetRequiredService<Microsoft.Extensions.Options.IOptions<CdsOptions>>().Value;

        // The validator is built on the thread pool while the knowledge loads here: the two are independent, and on a
        // 2-core machine running them side by side takes about a second off start to ready (docs/performance.md).
        var validator = options.ValidateAssessments
            ? Task.Run(() => ValidatorCache.GetAsync(options.KnowledgeDirectory, options.SpecificationExtractDirectory, options.ValidationResultCacheSize, options.SpecificationDirectory))
            : null;
        services.GetRequiredService<ClinicalKnowledge>();
        if (validator is not null)
        {
            // Built and warmed before readiness: the first request must not pay seconds for the validator.
            services.GetRequiredService<KetamineCds.Fhir.Facts.ProfileValidatorHolder>().Set(await validator);
        }

        using var document = JsonDocument.Parse(Request);
        var outcome = await services.GetRequiredService<HookPipeline>()
            .RunAsync(CdsServiceCatalog.Find("ketamine-order-sign")!, document.RootElement, CancellationToken.None);
        if (outcome.Response is null || outcome.Response.Cards.Count == 0)
        {
            throw new InvalidOperationException("Start-up self-check failed: the warm-up hook call produced no card.");
        }

        // Building the validator passes tens of MB through the heap (the prepared definitions, the first schema
        // compilations; over the full specification, its XML index and snapshot generation: some 300 MB). Without this
        // the GC keeps the rest committed, and the process carries the start-up peak into every hour of service. One aggressive (compacting, decommitting)
        // collection before readiness hands it back; it runs once, before any clinician waits (docs/performance.md).
        GC.Collect(GC.MaxGeneration, GCCollectionMode.Aggressive, blocking: true, compacting: true);
    }
}
