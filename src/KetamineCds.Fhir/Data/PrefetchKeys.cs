namespace KetamineCds.Fhir.Data;

/// <summary>A prefetch key: its template (CDS Hooks 2.0 tokens only), the resource type it yields, and whether rules need it.</summary>
public sealed record PrefetchKey(string Key, string ResourceType, string Template, bool Required)
{
    /// <summary>The FHIR query that stands in for the template when prefetch did not deliver it.</summary>
    public string QueryFor(string patientId) =>
        Template.Replace("{{context.patientId}}", Uri.EscapeDataString(patientId), StringComparison.Ordinal);
}

/// <summary>
/// The prefetch every service asks for. Medications are required: without them no rule can run, and the answer
/// is 412 when they can be neither prefetched nor fetched. The Patient is asked for by EHR convention but no rule
/// needs it; observations feed the outcome display, and without them the cards say outcomes were not available.
/// </summary>
public static class PrefetchKeys
{
    public static readonly PrefetchKey Patient = new("patient", "Patient", "Patient/{{context.patientId}}", Required: false);
    public static readonly PrefetchKey MedicationStatements = new("medicationStatements", "MedicationStatement", "MedicationStatement?patient={{context.patientId}}&_include=MedicationStatement:medication", Required: true);
    public static readonly PrefetchKey MedicationRequests = new("medicationRequests", "MedicationRequest", "MedicationRequest?patient={{context.patientId}}&_include=MedicationRequest:medication", Required: true);
    public static readonly PrefetchKey Observations = new("observations", "Observation", "Observation?patient={{context.patientId}}&category=survey", Required: false);

    public static IReadOnlyList<PrefetchKey> All { get; } = [Patient, MedicationStatements, MedicationRequests, Observations];
}
