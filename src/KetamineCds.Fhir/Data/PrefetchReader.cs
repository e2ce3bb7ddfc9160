using System.Runtime.InteropServices;
using System.Text.Json;
using Hl7.Fhir.Model;
using KetamineCds.Clinical.Medications;

namespace KetamineCds.Fhir.Data;

/// <summary>What one prefetch key delivered.</summary>
public enum PrefetchState
{
    /// <summary>Absent or null: the client did not fulfil it.</summary>
    Missing,

    /// <summary>The client reported an error (an OperationOutcome).</summary>
    Failed,

    /// <summary>A Bundle with every page, or a single resource.</summary>
    Complete,

    /// <summary>A Bundle whose further pages (link next) were not sent.</summary>
    Paged,
}

/// <summary>Resources read from one prefetch key or FHIR search, with what could not be read.</summary>
public sealed record ResourceBatch(PrefetchState State, IReadOnlyList<Resource> Resources, int Skipped, string? NextLink)
{
    /// <summary>Medication resources that came with the search (_include), for medicationReference.</summary>
    public IReadOnlyList<Medication> IncludedMedications { get; init; } = [];

    /// <summary>
    /// When set (a complete prefetch medication key read with <see cref="MedicationRead"/>), the medication entries in
    /// order, some already read into facts; <see cref="Resources"/> then holds only those still to be read.
    /// </summary>
    public IReadOnlyList<MedicationEntry>? MedicationEntries { get; init; }

    /// <summary>The medication entries in order: <see cref="MedicationEntries"/> when set, else every resource, still to be read.</summary>
    public IEnumerable<MedicationEntry> Medications => MedicationEntries ?? Resources.Select(r => new MedicationEntry(r, null));

    /// <summary>Resources kept although the parser reported errors in them (read as far as possible, and disclosed).</summary>
    public int ReadWithErrors { get; init; }

    public static ResourceBatch Missing { get; } = new(PrefetchState.Missing, [], 0, null);
}

/// <summary>
/// Reads a prefetch value per CDS Hooks 2.0: absent, null, a Bundle (possibly empty or paged), a single resource, or
/// an OperationOutcome. Entries that cannot be read, or that belong to another patient, are skipped and counted.
/// Only the wanted resource types are deserialized (the main lever for speed: ENGINEERING-NOTES).
/// </summary>
public static class PrefetchReader
{
    /// <param name="split">The key's entries when the request was split (<see cref="PrefetchSplitter"/>): then
    /// <paramref name="value"/> is the Bundle from the envelope, whose own <c>entry</c> is empty.</param>
    /// <param name="keepMedicationReads">Medication entries of a complete key are read through <see cref="MedicationRead"/>
    /// as facts of this source (the same bytes are not deserialized twice; ADR-15); null: read as resources.</param>
    public static ResourceBatch Read(JsonElement? value, string resourceType, string patientId, ResourceScreen? screen = null, SplitBundle? split = null,
        MedicationSource? keepMedicationReads = null)
    {
        try
        {
            return ReadValue(value, resourceType, patientId, screen, split, keepMedicationReads);
        }
        catch (Exception ex) when (ex is InvalidOperationException or ArgumentException)
        {
            // The Bundle itself (its resourceType or a link) holds text that is not valid Unicode: nothing in it can be
            // trusted to be read whole, so the key failed, which the gatherer reports (412 when the key is required).
            return new ResourceBatch(PrefetchState.Failed, [], 1, null);
        }
    }

    private static ResourceBatch ReadValue(JsonElement? value, string resourceType, string patientId, ResourceScreen? screen, SplitBundle? split,
        MedicationSource? keepMedicationReads)
    {
        if (value is not { } element || element.ValueKind is JsonValueKind.Null or JsonValueKind.Undefined)
        {
            return ResourceBatch.Missing;
        }

        if (element.ValueKind != JsonValueKind.Object)
        {
            return new ResourceBatch(PrefetchState.Failed, [], 1, null);
        }

        var type = TypeOf(element);
        if (type == "OperationOutcome")
        {
            return new ResourceBatch(PrefetchState.Failed, [], 0, null);
        }

        if (type != "Bundle")
        {
            return ReadEntries([element], new EntryCollector(resourceType, patientId, keepMedicationReads), PrefetchState.Complete, null, screen);
        }

        var next = NextLink(element);
        var state = next is null ? PrefetchState.Complete : PrefetchState.Paged;
        // A paged key is completed from the FHIR server, which gives resources: its first page is read as resources too.
        var batch = new EntryCollector(resourceType, patientId, next is null ? keepMedicationReads : null);
        if (split is not null)
        {
            return ReadEntries(split, batch, state, next, screen);
        }

        var entries = element.TryGetProperty("entry", out var entryArray) && entryArray.ValueKind == JsonValueKind.Array
            ? entryArray.EnumerateArray()
                .Select(e => e.ValueKind == JsonValueKind.Object && e.TryGetProperty("resource", out var r) ? r : default)
                .ToList()
            : [];
        return ReadEntries(entries, batch, state, next, screen);
    }

    /// <summary>The Bundle's link with relation "next", if any.</summary>
    public static string? NextLink(JsonElement bundle)
    {
        if (!bundle.TryGetProperty("link", out var links) || links.ValueKind != JsonValueKind.Array)
        {
            return null;
        }

        foreach (var link in links.EnumerateArray())
        {
            if (link.ValueKind == JsonValueKind.Object
                && link.TryGetProperty("relation", out var relation) && relation.ValueKind == JsonValueKind.String && relation.GetString() == "next"
                && link.TryGetProperty("url", out var url) && url.ValueKind == JsonValueKind.String)
            {
                return url.GetString();
            }
        }

        return null;
    }

    private static ResourceBatch ReadEntries(IReadOnlyList<JsonElement> entries, EntryCollector batch, PrefetchState state, string? next, ResourceScreen? screen)
    {
        foreach (var entry in entries)
        {
            if (entry.ValueKind != JsonValueKind.Object)
            {
                batch.Skipped++;
                continue;
            }

            // Text that is not valid Unicode (invalid UTF-8 from a FHIR server, a lone surrogate escape) throws when read:
            // that entry cannot be read, so it is skipped and counted, and the rest of the Bundle still is (issue 8 item 3).
            // The entry itself is never copied out as a string: the screen and Firely read the request's UTF-8 in place.
            string? type;
            try
            {
                type = TypeOf(entry);
            }
            catch (Exception ex) when (ex is InvalidOperationException or ArgumentException)
            {
                batch.Skipped++;
                continue;
            }

            if (batch.Wants(type) && (screen is null || type == "Medication" || screen.MayBeRelevant(entry)))
            {
                batch.Read(type, JsonMarshal.GetRawUtf8Value(entry));
            }
        }

        return batch.ToBatch(state, next);
    }

    /// <summary>The same reading over entries split out of the request (<see cref="PrefetchSplitter"/>): no document of them is built.</summary>
    private static ResourceBatch ReadEntries(SplitBundle split, EntryCollector batch, PrefetchState state, string? next, ResourceScreen? screen)
    {
        foreach (var entry in split.Entries)
        {
            if (!entry.HasResource || entry.TypeUnreadable)
            {
                batch.Skipped++;
                continue;
            }

            if (batch.Wants(entry.ResourceType) && (screen is null || entry.ResourceType == "Medication" || screen.MayBeRelevant(entry)))
            {
                batch.Read(entry.ResourceType, entry.Resource.Span);
            }
        }

        return batch.ToBatch(state, next);
    }

    /// <summary>What one key's entries gave: the resources, the included Medications, and what was skipped or read with errors.</summary>
    private sealed class EntryCollector(string resourceType, string patientId, MedicationSource? keepMedicationReads)
    {
        private readonly List<Resource> _resources = [];
        private readonly List<Medication> _included = [];
        private readonly List<MedicationEntry>? _medications = keepMedicationReads is not null && IsMedicationType(resourceType) ? [] : null;
        private int _withErrors;

        public int Skipped { get; set; }

        /// <summary>Whether an entry of this type is read (after the screen); an entry without a type is counted as skipped.</summary>
        public bool Wants(string? type)
        {
            if (type == "Medication" && IsMedicationType(resourceType))
            {
                // _include=...:medication: the Medication a medicationReference points to.
                return true;
            }

            if (type != resourceType && !(IsMedicationType(resourceType) && IsMedicationType(type)))
            {
                // Included resources of other types (Medication, OperationOutcome of search mode "outcome") are not ours to count.
                if (type is null)
                {
                    Skipped++;
                }

                return false;
            }

            return true;
        }

        /// <summary>Reads one wanted entry that passed the screen.</summary>
        public void Read(string? type, ReadOnlySpan<byte> utf8)
        {
            if (type == "Medication")
            {
                if (FhirJson.ReadTolerant(utf8, out _) is Medication medication)
                {
                    _included.Add(medication);
                }

                return;
            }

            if (_medications is not null && IsMedicationType(type))
            {
                // The same checks as below, on what these bytes gave when first read.
                var read = MedicationRead.Read(utf8, keepMedicationReads!.Value, out var notKept);
                if (read.Unreadable || !BelongsTo(read.Subject, read.SubjectUnreadable, patientId))
                {
                    Skipped++;
                    return;
                }

                if (read.WithErrors)
                {
                    _withErrors++;
                }

                if (notKept is not null)
                {
                    _resources.Add(notKept);
                }

                _medications.Add(new MedicationEntry(notKept, read.Fact));
                return;
            }

            // A medication the parser reports errors in is read as far as possible (a stray field must not hide a
            // benzodiazepine; its reader guards every typed getter) and counted, so the cards can say so. Anything else
            // with errors, or that cannot be read at all, is skipped and counted.
            var resource = FhirJson.ReadTolerant(utf8, out var error);
            if (resource is null || (error is not null && !IsMedicationType(type)) || !BelongsTo(resource, patientId))
            {
                Skipped++;
                return;
            }

            if (error is not null)
            {
                _withErrors++;
            }

            _resources.Add(resource);
        }

        public ResourceBatch ToBatch(PrefetchState state, string? next) =>
            new(state, _resources, Skipped, next) { IncludedMedications = _included, ReadWithErrors = _withErrors, MedicationEntries = _medications };
    }

    /// <summary>A medication key may carry statements and requests alike (an EHR puts entries under the wrong key).</summary>
    private static bool IsMedicationType(string? type) => type is "MedicationStatement" or "MedicationRequest";

    private static string? TypeOf(JsonElement element) =>
        element.TryGetProperty("resourceType", out var t) && t.ValueKind == JsonValueKind.String ? t.GetString() : null;

    /// <summary>A resource whose subject names another patient is an EHR error; it must never inform this patient's cards.</summary>
    private static bool BelongsTo(Resource resource, string patientId)
    {
        var subject = SubjectOf(resource, out var unreadable);
        return BelongsTo(subject, unreadable, patientId);
    }

    private static bool BelongsTo(string? subject, bool unreadable, string patientId) =>
        !unreadable
        && (subject is null
            || subject.Equals($"Patient/{patientId}", StringComparison.Ordinal)
            || subject.EndsWith($"/Patient/{patientId}", StringComparison.Ordinal));

    /// <summary>The patient reference a resource names, if any.</summary>
    /// <param name="unreadable">A subject the tolerant parser kept raw (a list, a number): it cannot be shown to be this
    /// patient's, so the resource is skipped.</param>
    internal static string? SubjectOf(Resource? resource, out bool unreadable)
    {
        unreadable = false;
        try
        {
            return resource switch
            {
                MedicationStatement s => s.Subject?.Reference,
                MedicationRequest r => r.Subject?.Reference,
                Observation o => o.Subject?.Reference,
                Patient p => p.Id is null ? null : $"Patient/{p.Id}",
                _ => null,
            };
        }
        catch (Hl7.Fhir.Validation.CodedValidationException)
        {
            unreadable = true;
            return null;
        }
    }
}
