using System.Collections.Concurrent;
using Hl7.Fhir.Model;
using KetamineCds.Clinical.Medications;

namespace KetamineCds.Fhir.Data;

/// <summary>
/// What reading one medication entry's exact bytes gave (issue 8 item 1; ADR-15): its facts, whether the parser found
/// errors in it, and the patient it names. An EHR sends the same chart on every order-select, order-sign and
/// patient-view of an ordering session, and Firely's deserialization of the few medication entries that pass the screen
/// was the largest cost left in a hook call. Equal SHA-256 digests mean equal bytes, so the facts are those the bytes
/// give: nothing here depends on the request, the patient or the time, and the patient check is made on every call.
/// An entry whose medicationReference points outside the resource is never kept: its facts depend on the Medication
/// that comes with it.
/// </summary>
internal sealed record MedicationRead(bool Unreadable, bool WithErrors, string? Subject, bool SubjectUnreadable, MedicationFact? Fact)
{
    /// <summary>
    /// How many reads are kept: about 2 KB each (measured: 1,000 charts of about 7 medication entries passing the screen
    /// added 12 MB), so at most about 20 MB; cleared when full, which only costs the next reads their parse again.
    /// </summary>
    public const int Capacity = 10_000;

    /// <summary>By digest and by the source the facts were read as (a prefetch entry, or a draft order).</summary>
    private static readonly ConcurrentDictionary<(FhirJson.ContentDigest, MedicationSource), MedicationRead> Kept = new();

    public static int Count => Kept.Count;

    /// <summary>The read of these bytes: kept, or read now with Firely (and kept when it can be). The resource is given
    /// only when the read is not kept (the caller reads its facts with the included Medications).</summary>
    public static MedicationRead Read(ReadOnlySpan<byte> utf8, MedicationSource source, out Resource? notKept)
    {
        notKept = null;
        var digest = FhirJson.ContentDigest.Of(utf8);
        if (Kept.TryGetValue((digest, source), out var kept))
        {
            return kept;
        }

        var resource = FhirJson.ReadTolerant(utf8, digest, out var error);
        var subject = PrefetchReader.SubjectOf(resource, out var subjectUnreadable);
        if (resource is not null && NamesAnOutsideMedication(resource))
        {
            notKept = resource;
            return new MedicationRead(false, error is not null, subject, subjectUnreadable, null);
        }

        var read = new MedicationRead(resource is null, error is not null, subject, subjectUnreadable,
            resource is null ? null : PatientDataGatherer.TryRead(resource, source));
        if (Kept.Count >= Capacity)
        {
            Kept.Clear();
        }

        Kept.TryAdd((digest, source), read);
        return read;
    }

    /// <summary>A medicationReference to anything but a contained Medication (or one that cannot be read).</summary>
    private static bool NamesAnOutsideMedication(Resource resource)
    {
        try
        {
            var medication = resource switch
            {
                MedicationStatement s => s.Medication,
                MedicationRequest r => r.Medication,
                _ => null,
            };
            return medication is ResourceReference reference && reference.Reference?.StartsWith('#') != true;
        }
        catch (Hl7.Fhir.Validation.CodedValidationException)
        {
            return true;
        }
    }
}

/// <summary>A medication entry of a prefetch key, in order: a resource still to be read into facts, or the facts already read.</summary>
public sealed record MedicationEntry(Resource? Resource, MedicationFact? Fact);
