using System.Runtime.InteropServices;
using System.Text.Json;
using Hl7.Fhir.Model;
using Hl7.Fhir.Serialization;

namespace KetamineCds.Fhir;

/// <summary>Firely deserializers, built once. Prefetch is read tolerantly; our own artifacts strictly.</summary>
public static class FhirJson
{
    /// <summary>For EHR data: unknown elements and codes are kept rather than failing the whole resource.</summary>
    private static readonly FhirJsonDeserializer Tolerant = FhirJsonDeserializer.BACKWARDSCOMPATIBLE;

    /// <summary>For our own knowledge artifacts: any error is a configuration error.</summary>
    private static readonly FhirJsonDeserializer Strict = FhirJsonDeserializer.STRICT;

    private static readonly FhirJsonSerializer Serializer = new();

    /// <summary>
    /// Reads one resource from EHR data, straight from the request's UTF-8 bytes (no string copy); null (with the reason)
    /// when it cannot be read at all.
    /// </summary>
    public static Resource? ReadTolerant(JsonElement element, out string? error)
    {
        error = null;
        try
        {
            var reader = new Utf8JsonReader(JsonMarshal.GetRawUtf8Value(element));
            if (Tolerant.TryDeserializeResource(ref reader, out var resource, out var issues))
            {
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
