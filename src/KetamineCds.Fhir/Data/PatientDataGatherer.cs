using System.Text.Json;
using Hl7.Fhir.Model;
using KetamineCds.Clinical.Medications;
using KetamineCds.Clinical.Rules;
using KetamineCds.Fhir.Facts;

namespace KetamineCds.Fhir.Data;

/// <summary>The EHR's FHIR server as the hook request names it (fhirServer + fhirAuthorization).</summary>
public sealed record FhirServerAccess(Uri BaseUrl, string? AccessToken, string? TokenType, string? Scope)
{
    /// <summary>When the hook call was parsed (Stopwatch timestamp): the fallback's deadline counts from here, so the
    /// whole answer, not only the fetching, stays within it.</summary>
    public long StartedTimestamp { get; init; } = System.Diagnostics.Stopwatch.GetTimestamp();
}

/// <summary>Reads a FHIR search from the EHR's FHIR server when prefetch did not deliver it.</summary>
public interface IFhirFallback
{
    /// <summary>Runs the search (following paging within limits); a Missing batch when it cannot be had.</summary>
    Task<ResourceBatch> SearchAsync(FhirServerAccess server, PrefetchKey key, string patientId, string? continueFrom, CancellationToken cancellationToken);
}

/// <summary>What a hook call carries that the gatherer needs.</summary>
public sealed record GatherRequest(
    string PatientId,
    IReadOnlyDictionary<string, JsonElement> Prefetch,
    JsonElement? DraftOrders,
    IReadOnlySet<string>? Selections,
    FhirServerAccess? Server)
{
    /// <summary>Prefetch Bundles split out of the request (<see cref="PrefetchSplitter"/>), by key: their entries are read
    /// from here, the Bundle itself (type, links) from <see cref="Prefetch"/>.</summary>
    public IReadOnlyDictionary<string, SplitBundle>? SplitPrefetch { get; init; }
}

/// <summary>The patient's data, or the keys that could not be had (the caller answers 412).</summary>
public sealed record GatherResult(
    PatientData? Data,
    IReadOnlyList<Observation> Observations,
    bool ObservationsAvailable,
    int SkippedResources,
    IReadOnlyList<string> MissingKeys,
    IReadOnlyDictionary<string, string> Sources)
{
    /// <summary>Resources used although the parser found errors in them.</summary>
    public int ReadWithErrors { get; init; }
}

/// <summary>
/// Gathers the data the rules need: prefetch first, then the EHR's FHIR server for what prefetch left out (absent,
/// null, an OperationOutcome, or further pages). Parses FHIR once, here, into plain facts.
/// </summary>
/// <param name="classifier">When given, a medication entry that could be current therapy, that names nothing (no text,
/// no display) and whose codes we do not know is counted as unreadable: it may be a benzodiazepine no one can see
/// (rule 2: no silent false negatives). An entry whose display names another drug is not.</param>
/// <param name="observationScreen">Lets through only Observations that may carry an assessment code (<see cref="AssessmentScreen"/>):
/// a chart's vitals, labs and other questionnaires are never deserialized (they were most of the request's cost).</param>
/// <param name="keepMedicationReads">The prefetch medication entries' reads are kept by content (<see cref="MedicationRead"/>,
/// ADR-15): for the hook service, which sees the same chart on every hook of an ordering session.</param>
public sealed class PatientDataGatherer(
    IFhirFallback? fallback = null,
    ResourceScreen? medicationScreen = null,
    AssessmentExtractor? assessments = null,
    MedicationClassifier? classifier = null,
    ResourceScreen? observationScreen = null,
    bool keepMedicationReads = false)
{
    public async Task<GatherResult> GatherAsync(GatherRequest request, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        var missing = new List<string>();
        var sources = new Dictionary<string, string>(StringComparer.Ordinal);
        var skipped = 0;
        var batches = new Dictionary<string, ResourceBatch>(StringComparer.Ordinal);

        foreach (var key in PrefetchKeys.All.Where(k => k != PrefetchKeys.Patient))
        {
            JsonElement? value = request.Prefetch.TryGetValue(key.Key, out var v) ? v : null;
            var screen = key.ResourceType switch
            {
                "MedicationStatement" or "MedicationRequest" => medicationScreen,
                "Observation" => observationScreen,
                _ => null,
            };
            var split = request.SplitPrefetch is { } splits && splits.TryGetValue(key.Key, out var b) ? b : null;
            var batch = PrefetchReader.Read(value, key.ResourceType, request.PatientId, screen, split, keepMedicationReads ? MedicationSource.Request : null);
            sources[key.Key] = "prefetch";
            if (batch.State != PrefetchState.Complete)
            {
                var fetched = await FetchAsync(request, key, batch, cancellationToken);
                if (fetched is null)
                {
                    if (key.Required)
                    {
                        missing.Add(key.Key);
                    }

                    sources[key.Key] = "unavailable";
                    skipped += batch.Skipped;
                    continue;
                }

                sources[key.Key] = batch.State == PrefetchState.Paged ? "prefetch+fhir-server" : "fhir-server";
                batch = fetched;
            }

            skipped += batch.Skipped;
            batches[key.Key] = batch;
        }

        if (missing.Count > 0)
        {
            return new GatherResult(null, [], false, skipped, missing, sources);
        }

        var medicationBatches = new[] { batches[PrefetchKeys.MedicationStatements.Key], batches[PrefetchKeys.MedicationRequests.Key] };
        var included = medicationBatches.SelectMany(b => b.IncludedMedications)
            .Where(m => m.Id is not null)
            .GroupBy(m => $"Medication/{m.Id}", StringComparer.Ordinal)
            .ToDictionary(g => g.Key, g => g.First(), StringComparer.Ordinal);
        var readWithErrors = batches.Values.Sum(b => b.ReadWithErrors);
        var medications = new List<MedicationFact>();
        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (var entry in medicationBatches.SelectMany(b => b.Medications))
        {
            var fact = entry.Resource is { } resource ? TryRead(resource, MedicationSource.Request, included) : entry.Fact;
            if (fact is null || !IsIdentifiable(fact) || IsUnnamedAndUnknown(fact))
            {
                // Unreadable, a status that is no FHIR status, nothing that names a medication, or only codes we do not
                // know with no name to read: counted, never guessed.
                skipped++;
                continue;
            }

            // The same resource twice (in both keys, or repeated in a page) is one entry.
            if (seen.Add(fact.Reference))
            {
                medications.Add(fact);
            }
        }

        var draftOrders = new List<MedicationFact>();
        if (request.DraftOrders is { } orders)
        {
            var draftBatch = PrefetchReader.Read(orders, "MedicationRequest", request.PatientId, keepMedicationReads: keepMedicationReads ? MedicationSource.DraftOrder : null);
            foreach (var entry in draftBatch.Medications)
            {
                if ((entry.Resource is { } resource ? TryRead(resource, MedicationSource.DraftOrder) : entry.Fact) is { } fact)
                {
                    draftOrders.Add(fact);
                }
            }
        }

        var observations = batches.TryGetValue(PrefetchKeys.Observations.Key, out var obs)
            ? obs.Resources.OfType<Observation>().ToList()
            : [];
        var assessmentData = assessments is not null && batches.ContainsKey(PrefetchKeys.Observations.Key)
            ? assessments.Extract(observations)
            : null;
        return new GatherResult(
            new PatientData(medications, draftOrders, request.Selections) { Assessments = assessmentData },
            observations,
            batches.ContainsKey(PrefetchKeys.Observations.Key),
            skipped,
            [],
            sources) { ReadWithErrors = readWithErrors };
    }

    private async Task<ResourceBatch?> FetchAsync(GatherRequest request, PrefetchKey key, ResourceBatch fromPrefetch, CancellationToken cancellationToken)
    {
        if (fallback is null || request.Server is null)
        {
            return null;
        }

        var continueFrom = fromPrefetch.State == PrefetchState.Paged ? fromPrefetch.NextLink : null;
        var fetched = await fallback.SearchAsync(request.Server, key, request.PatientId, continueFrom, cancellationToken);
        if (fetched.State != PrefetchState.Complete)
        {
            return null;
        }

        // A paged prefetch keeps its first page, with the Medications included on it; the server supplies the rest.
        return continueFrom is null
            ? fetched
            : new ResourceBatch(PrefetchState.Complete, [.. fromPrefetch.Resources, .. fetched.Resources], fromPrefetch.Skipped + fetched.Skipped, null)
            {
                IncludedMedications = [.. fromPrefetch.IncludedMedications, .. fetched.IncludedMedications],
                ReadWithErrors = fromPrefetch.ReadWithErrors + fetched.ReadWithErrors,
            };
    }

    /// <summary>A resource the tolerant parser kept may still hold a value that throws when read; it is skipped and counted.</summary>
    private static readonly HashSet<string> StatementStatuses = new(StringComparer.Ordinal)
        { "active", "completed", "entered-in-error", "intended", "stopped", "on-hold", "unknown", "not-taken" };

    private static readonly HashSet<string> RequestStatuses = new(StringComparer.Ordinal)
        { "active", "on-hold", "cancelled", "completed", "entered-in-error", "stopped", "draft", "unknown" };

    /// <summary>A medication entry we can act on: a real FHIR status, and a code, a name or an ingredient.</summary>
    private static bool IsIdentifiable(MedicationFact fact) =>
        (fact.Source == MedicationSource.Statement ? StatementStatuses : RequestStatuses).Contains(fact.Status)
        && (fact.Codes.Count > 0 || fact.Texts.Count > 0 || fact.Ingredients.Count > 0);

    /// <summary>
    /// Only codes, none of them ours, and no text or display: we cannot tell what the medication is (a SNOMED CT code we
    /// do not map, a local code). Only entries whose status could make them current therapy are counted, so a long
    /// list of stopped entries does not flood the card.
    /// </summary>
    private bool IsUnnamedAndUnknown(MedicationFact fact) =>
        classifier is not null
        && fact.Name is null
        && (fact.Source == MedicationSource.Statement ? CurrentStatementStatuses : CurrentRequestStatuses).Contains(fact.Status)
        && classifier.Classify(fact) is null;

    private static readonly HashSet<string> CurrentStatementStatuses = new(StringComparer.Ordinal) { "active", "intended", "on-hold" };

    private static readonly HashSet<string> CurrentRequestStatuses = new(StringComparer.Ordinal) { "active", "on-hold" };

    internal static MedicationFact? TryRead(Resource resource, MedicationSource source, IReadOnlyDictionary<string, Medication>? included = null)
    {
        try
        {
            return MedicationFactReader.Read(resource, source, included);
        }
        // CodedValidationException: Firely's typed getters on a value the tolerant parser kept raw (a single Dosage where a
        // list belongs, a number for a uri). NullReferenceException: a null inside a list (e.g. "coding": [null]). Both were
        // found by the hook fuzz test as 500s.
        catch (Exception ex) when (ex is InvalidCastException or FormatException or InvalidOperationException or ArgumentException or OverflowException
                                       or Hl7.Fhir.Validation.CodedValidationException or NullReferenceException)
        {
            return null;
        }
    }
}
