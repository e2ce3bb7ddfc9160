using System.Text.Json;
using Hl7.Fhir.Model;
using KetamineCds.Fhir;

namespace KetamineCds.Tests.Profiles;

/// <summary>Every Observation anywhere in a JSON document (a hook request's prefetch, a Bundle), read as Firely POCOs.</summary>
internal static class ObservationCollector
{
    public static void Collect(JsonElement element, List<Observation> into)
    {
        if (element.ValueKind == JsonValueKind.Object)
        {
            if (element.TryGetProperty("resourceType", out var type) && type.GetString() == "Observation")
            {
                into.Add((Observation)FhirJson.ReadTolerant(element, out _)!);
                return;
            }

            foreach (var property in element.EnumerateObject())
            {
                Collect(property.Value, into);
            }
        }
        else if (element.ValueKind == JsonValueKind.Array)
        {
            foreach (var item in element.EnumerateArray())
            {
                Collect(item, into);
            }
        }
    }
}
