using KetamineCds.Clinical.Rules;
using KetamineCds.Fhir.Data;

namespace KetamineCds.Api.CdsHooks;

/// <summary>A service we offer: its discovery entry and the hook it answers.</summary>
public sealed record CdsService(CdsServiceDescriptor Descriptor, HookKind Kind);

/// <summary>The three services of discovery (GET /cds-services).</summary>
public static class CdsServiceCatalog
{
    private const string Usage =
        "Send prefetch for the patient's MedicationStatement and MedicationRequest resources (and survey Observations for " +
        "QIDS-SR/CADSS), or fhirServer with fhirAuthorization so the service can read them (scopes: patient/MedicationStatement.read, " +
        "patient/MedicationRequest.read, patient/Observation.read). Without medications the service answers 412.";

    private static readonly IReadOnlyDictionary<string, string> Prefetch =
        PrefetchKeys.All.ToDictionary(k => k.Key, k => k.Template, StringComparer.Ordinal);

    private const string Evidence =
        "evidence on concurrent lamotrigine (Joseph et al. 2023) and the patient's benzodiazepine load in lorazepam equivalents against the study's 4 mg/day limit.";

    public static IReadOnlyList<CdsService> All { get; } =
    [
        Service("ketamine-order-select", "order-select", HookKind.OrderSelect,
            "Ketamine/esketamine: lamotrigine and benzodiazepine evidence",
            $"When a ketamine or esketamine order is selected: {Evidence}"),
        Service("ketamine-order-sign", "order-sign", HookKind.OrderSign,
            "Ketamine/esketamine: lamotrigine and benzodiazepine evidence at signing",
            $"When a ketamine or esketamine order is signed: {Evidence}"),
        Service("ketamine-patient-view", "patient-view", HookKind.PatientView,
            "Ketamine/esketamine course: lamotrigine, benzodiazepines and outcomes",
            "When the chart of a patient on ketamine or esketamine is opened: concurrent lamotrigine evidence, " +
            "benzodiazepine load in lorazepam equivalents, and the patient's QIDS-SR and CADSS course."),
    ];

    public static CdsService? Find(string id) => All.FirstOrDefault(s => s.Descriptor.Id == id);

    private static CdsService Service(string id, string hook, HookKind kind, string title, string description) =>
        new(new CdsServiceDescriptor
        {
            Id = id,
            Hook = hook,
            Title = title,
            Description = description,
            Prefetch = Prefetch,
            UsageRequirements = Usage,
        }, kind);
}
