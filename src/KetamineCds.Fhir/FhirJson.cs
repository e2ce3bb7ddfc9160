using System.Collections.Concurrent;
using System.Runtime.InteropServices;
using System.Security.Cryptography;
using System.Text.Json;
using Hl7.Fhir.Model;
using Hl7.Fhir.Serialization;
using Hl7.Fhir.Utility;

namespace KetamineCds.Fhir;

/// <summary>Firely deserializers, built once. Prefetch is read tolerantly; our own artifacts strictly.</summary>
public static class FhirJson
{
    /// <summary>For EHR data: unknown elements and codes are kept rather than failing the whole resource.</summary>
    private static readonly FhirJsonDeserializer Tolerant = FhirJsonDeserializer.BACKWARDSCOMPATIBLE;

    /// <summary>
    /// The same reading without Firely's per-element attribute validation (<see cref="DeserializerSettings.Validator"/>
    /// null): two to three times faster and a third of the allocation on an EHR's MedicationStatement (docs/performance.md).
    /// That validation only finds format errors, which the cards disclose ("read as far as possible"), so it is skipped
    /// only for bytes already read once with it and found clean (<see cref="CleanReads"/>).
    /// </summary>
    private static readonly FhirJsonDeserializer Unvalidated = new(new DeserializerSettings().UsingMode(DeserializationMode.BackwardsCompatible) with { Validator = null });

    /// <summary>
    /// SHA-256 digests of resources whose exact bytes the validating reader read without any issue. A function of the
    /// bytes alone (the deserializers never change), so one set serves the whole process. Bounded: cleared when full, which
    /// only costs the next reads their validation again.
    /// </summary>
    private static readonly ConcurrentDictionary<ContentDigest, byte> CleanReads = new();

    /// <summary>How many clean reads are remembered (about 100 bytes each).</summary>
    public const int CleanReadCapacity = 50_000;

    /// <summary>For our own knowledge artifacts: any error is a configuration error.</summary>
    private static readonly FhirJsonDeserializer Strict = FhirJsonDeserializer.STRICT;

    private static readonly FhirJsonSerializer Serializer = new();

    /// <summary>
    /// Reads one resource from EHR data, straight from the request's UTF-8 bytes (no string copy); null (with the reason)
    /// when it cannot be read at all.
    /// </summary>
    public static Resource? ReadTolerant(JsonElement element, out string? error) =>
        ReadTolerant(JsonMarshal.GetRawUtf8Value(element), out error);

    /// <summary>Reads one resource from EHR data given as its UTF-8 JSON (a split prefetch entry, an element's raw bytes).</summary>
    public static Resource? ReadTolerant(ReadOnlySpan<byte> utf8, out string? error) =>
        ReadTolerant(utf8, ContentDigest.Of(utf8), out error);

    /// <summary>The same, with the bytes' digest already taken (<see cref="ContentDigest.Of"/>).</summary>
    internal static Resource? ReadTolerant(ReadOnlySpan<byte> utf8, ContentDigest digest, out string? error)
    {
        error = null;
        try
        {
            var seenClean = CleanReads.ContainsKey(digest);
            var reader = new Utf8JsonReader(utf8);
            if ((seenClean ? Unvalidated : Tolerant).TryDeserializeResource(ref reader, out var resource, out var issues))
            {
                resource.AddAnnotation(digest);
                if (!seenClean)
                {
                    Remember(digest);
                }

                return resource;
            }

            error = string.Join("; ", issues.Select(i => i.Message).Take(3));
            return resource;
        }
        catch (Exception ex) when (ex is JsonException or FormatException or InvalidOperationException or ArgumentException or DeserializationFailedException)
        {
            // ArgumentException/InvalidOperationException: text that is not valid Unicode (invalid UTF-8 from a FHIR
            // server, a lone surrogate escape): unreadable, like any other broken resource.
            error = ex.GetType().Name;
            return null;
        }
    }

    /// <summary>
    /// The digest of the exact bytes a resource was read from (ReadTolerant over a request's JSON), or null for a resource
    /// built or read any other way. Equal digests mean equal resources, so a verdict about one holds for the other.
    /// </summary>
    public static string? ContentKey(Resource resource)
    {
        ArgumentNullException.ThrowIfNull(resource);
        return resource.Annotation<ContentDigest>()?.ToString();
    }

    private static void Remember(ContentDigest digest)
    {
        if (CleanReads.Count >= CleanReadCapacity)
        {
            CleanReads.Clear();
        }

        CleanReads.TryAdd(digest, 0);
    }

    /// <summary>A SHA-256 digest: collision-resistant, so a crafted resource cannot pass for another one's clean read.</summary>
    internal sealed record ContentDigest(ulong A, ulong B, ulong C, ulong D)
    {
        public static ContentDigest Of(ReadOnlySpan<byte> utf8)
        {
            Span<byte> hash = stackalloc byte[SHA256.HashSizeInBytes];
            SHA256.HashData(utf8, hash);
            var words = MemoryMarshal.Cast<byte, ulong>(hash);
            return new ContentDigest(words[0], words[1], words[2], words[3]);
        }

        public override string ToString() => $"{A:x16}{B:x16}{C:x16}{D:x16}";
    }

    /// <summary>Reads one resource from its raw JSON; null (with the reason) when it cannot be read at all.</summary>
    public static Resource? ReadTolerant(string json, out string? error)
    {
        error = null;
        try
        {
            if (Tolerant.TryDeserializeResource(json, out var resource, out var issues))
            {
                return resource;
            }

            // Recoverable issues still give a resource; keep it, as a clinician would read a slightly malformed entry.
            error = string.Join("; ", issues.Select(i => i.Message).Take(3));
            return resource;
        }
        catch (Exception ex) when (ex is JsonException or FormatException or InvalidOperationException or DeserializationFailedException)
        {
            error = ex.GetType().Name;
            return null;
        }
    }

    public static T ReadStrict<T>(string json) where T : Resource =>
        Strict.DeserializeResource(json) as T
        ?? throw new InvalidDataException($"Expected a {typeof(T).Name}.");

    public static string Serialize(Resource resource) => Serializer.SerializeToString(resource);
}
