using System.Text.Json;
using System.Text.Json.Nodes;

namespace KetamineCds.Api.Tests.Fallback;

/// <summary>The Table 2 scenario requests, and the EHR FHIR server that would hold the same data.</summary>
public static class Table2
{
    public static string Folder(int patient) => Path.Combine(AppContext.BaseDirectory, "scenarios", "table2", $"patient-{patient:00}");

    public static JsonObject Request(int patient) =>
        JsonNode.Parse(File.ReadAllText(Path.Combine(Folder(patient), "request.json")))!.AsObject();

    public static IReadOnlySet<string> ExpectedFindings(int patient) =>
        JsonNode.Parse(File.ReadAllText(Path.Combine(Folder(patient), "expected.json")))!["findings"]!.AsArray()
            .Select(f => f!.GetValue<string>()).ToHashSet();

    /// <summary>The request with prefetch removed and the FHIR server named instead (as an EHR that prefetches nothing).</summary>
    public static JsonObject WithoutPrefetch(int patient, Uri fhirServer, string token = "ehr-access-token-7f3a")
    {
        var request = Request(patient);
        request.Remove("prefetch");
        request["fhirServer"] = fhirServer.ToString();
        request["fhirAuthorization"] = new JsonObject
        {
            ["access_token"] = token,
            ["token_type"] = "Bearer",
            ["expires_in"] = 300,
            ["scope"] = "patient/MedicationStatement.read patient/MedicationRequest.read patient/Observation.read",
            ["subject"] = "ketamine-cds",
        };
        return request;
    }

    /// <summary>The searchset Bundle the EHR would answer for a resource type: the prefetch the fixture carries.</summary>
    public static string SearchBundle(int patient, string resourceType)
    {
        var key = resourceType switch
        {
            "MedicationStatement" => "medicationStatements",
            "MedicationRequest" => "medicationRequests",
            "Observation" => "observations",
            _ => throw new ArgumentOutOfRangeException(nameof(resourceType)),
        };
        return Request(patient)["prefetch"]![key]!.ToJsonString();
    }

    /// <summary>An EHR FHIR server for one patient: each search type answers its Bundle; anything else is 404.</summary>
    public static Func<RecordedRequest, ScriptedReply> Ehr(int patient, Func<RecordedRequest, ScriptedReply?>? fault = null)
    {
        var bundles = new[] { "MedicationStatement", "MedicationRequest", "Observation" }
            .ToDictionary(t => t, t => SearchBundle(patient, t));
        return request =>
        {
            if (fault?.Invoke(request) is { } reply)
            {
                return reply;
            }

            var type = request.Path.Split('/').Last();
            return bundles.TryGetValue(type, out var bundle) ? ScriptedReply.Json(bundle) : ScriptedReply.Error(404);
        };
    }

    /// <summary>The findings of the cards in a hook answer.</summary>
    public static IReadOnlySet<string> Findings(string responseBody) =>
        JsonDocument.Parse(responseBody).RootElement.GetProperty("cards").EnumerateArray()
            .Select(c => c.GetProperty("extension").GetProperty("ketaminecds").GetProperty("finding").GetString()!)
            .ToHashSet();
}
