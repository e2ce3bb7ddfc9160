using System.Text.Json.Nodes;

namespace KetamineCds.Api.Tests.Support;

/// <summary>
/// Every request the card tests post: the Table 2 scenarios at order-sign and as a chart opening (patient-view), the
/// ehr-style card scenarios, and patient-view course requests. Wording, budget and link tests all run over this set.
/// </summary>
public static class CardScenarios
{
    public static IEnumerable<string> EhrStyleCardScenarios() =>
        Directory.GetDirectories(Path.Combine(ScenarioFiles.Root, "ehr-style"), "cards-*").Select(Path.GetFileName).OfType<string>().Order();

    /// <summary>(name, service id, request) for every scenario request.</summary>
    public static IEnumerable<(string Name, string Service, JsonObject Request)> All()
    {
        foreach (var patient in ScenarioFiles.Table2Patients())
        {
            yield return ($"table2/{patient} order-sign", "ketamine-order-sign", ScenarioFiles.Load($"table2/{patient}/request.json"));
            yield return ($"table2/{patient} text-sig order-sign", "ketamine-order-sign", ScenarioFiles.Load($"table2/{patient}/request-text-sig.json"));
            yield return ($"table2/{patient} patient-view", "ketamine-patient-view", AsPatientView(ScenarioFiles.Load($"table2/{patient}/request.json")));
        }

        foreach (var name in EhrStyleCardScenarios())
        {
            var expected = ScenarioFiles.Load($"ehr-style/{name}/expected.json");
            yield return ($"ehr-style/{name}", (string)expected["service"]!, ScenarioFiles.Load($"ehr-style/{name}/request.json"));
        }
    }

    /// <summary>
    /// A Table 2 order-sign request read as a chart opening: the draft ketamine order becomes an active order on the
    /// record, so the patient-view hook sees a patient on ketamine/esketamine.
    /// </summary>
    public static JsonObject AsPatientView(JsonObject request)
    {
        request["hook"] = "patient-view";
        var draft = request["context"]!["draftOrders"]!["entry"]![0]!["resource"]!.DeepClone().AsObject();
        request["context"]!.AsObject().Remove("draftOrders");
        draft["status"] = "active";
        var bundle = request["prefetch"]!["medicationRequests"]!.AsObject();
        if (bundle["entry"] is not JsonArray requests)
        {
            requests = [];
            bundle["entry"] = requests;
        }

        requests.Add(new JsonObject { ["fullUrl"] = $"https://ehr.example.org/fhir/MedicationRequest/{draft["id"]}", ["resource"] = draft });
        return request;
    }
}
