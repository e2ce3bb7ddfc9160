using System.Text.Json.Nodes;

namespace KetamineCds.Api.Tests.Support;

/// <summary>Builds hook requests around a base fixture, with the medications a scenario needs.</summary>
public static class RequestBuilder
{
    public const string PatientId = "table2-patient-13";
    public const string RxNorm = "http://www.nlm.nih.gov/research/umls/rxnorm";

    /// <summary>An order-sign request for IV ketamine with the given statements and requests as prefetch.</summary>
    public static JsonObject OrderSign(IEnumerable<JsonObject>? statements = null, IEnumerable<JsonObject>? requests = null)
    {
        var request = ScenarioFiles.Load("table2/patient-13/request.json");
        request["prefetch"]!["medicationStatements"] = Bundle(statements ?? []);
        request["prefetch"]!["medicationRequests"] = Bundle(requests ?? []);
        return request;
    }

    public static JsonObject OrderSelect(IEnumerable<JsonObject>? statements = null, params string[] selections)
    {
        var request = OrderSign(statements);
        request["hook"] = "order-select";
        request["context"]!["selections"] = new JsonArray(selections.Select(s => (JsonNode)s).ToArray());
        return request;
    }

    public static JsonObject PatientView(IEnumerable<JsonObject>? statements = null, IEnumerable<JsonObject>? requests = null)
    {
        var request = OrderSign(statements, requests);
        request["hook"] = "patient-view";
        request["context"]!.AsObject().Remove("draftOrders");
        return request;
    }

    public static string DraftOrderReference(JsonObject request) =>
        "MedicationRequest/" + (string)request["context"]!["draftOrders"]!["entry"]![0]!["resource"]!["id"]!;

    /// <summary>Replaces the draft order's medication.</summary>
    public static JsonObject WithDraftMedication(JsonObject request, JsonObject medicationCodeableConcept)
    {
        request["context"]!["draftOrders"]!["entry"]![0]!["resource"]!["medicationCodeableConcept"] = medicationCodeableConcept;
        return request;
    }

    public static JsonObject Bundle(IEnumerable<JsonObject> resources)
    {
        var entries = new JsonArray(resources.Select(r => (JsonNode)new JsonObject
        {
            ["fullUrl"] = $"https://ehr.example.org/fhir/{r["resourceType"]}/{r["id"]}",
            ["resource"] = r.DeepClone(),
        }).ToArray());
        return new JsonObject { ["resourceType"] = "Bundle", ["type"] = "searchset", ["total"] = entries.Count, ["entry"] = entries };
    }

    public static JsonObject Concept(string text, string? rxnorm = null) => rxnorm is null
        ? new JsonObject { ["text"] = text }
        : new JsonObject { ["coding"] = new JsonArray(new JsonObject { ["system"] = RxNorm, ["code"] = rxnorm, ["display"] = text }), ["text"] = text };

    public static JsonObject Dosage(decimal mg, string timingCode = "QD", string? route = null)
    {
        var dosage = new JsonObject
        {
            ["text"] = $"{mg} mg {timingCode}",
            ["timing"] = new JsonObject { ["code"] = new JsonObject { ["coding"] = new JsonArray(new JsonObject { ["system"] = "http://terminology.hl7.org/CodeSystem/v3-GTSAbbreviation", ["code"] = timingCode }) } },
            ["doseAndRate"] = new JsonArray(new JsonObject { ["doseQuantity"] = new JsonObject { ["value"] = mg, ["unit"] = "mg", ["system"] = "http://unitsofmeasure.org", ["code"] = "mg" } }),
        };
        if (route is not null)
        {
            dosage["route"] = new JsonObject { ["text"] = route };
        }

        return dosage;
    }

    public static JsonObject Statement(string id, JsonObject medication, JsonObject? dosage, string status = "active")
    {
        var statement = new JsonObject
        {
            ["resourceType"] = "MedicationStatement",
            ["id"] = id,
            ["status"] = status,
            ["medicationCodeableConcept"] = medication,
            ["subject"] = new JsonObject { ["reference"] = $"Patient/{PatientId}" },
        };
        if (dosage is not null)
        {
            statement["dosage"] = new JsonArray(dosage);
        }

        return statement;
    }

    public static JsonObject Request(string id, JsonObject medication, JsonObject? dosage, string status = "active", string intent = "order")
    {
        var request = new JsonObject
        {
            ["resourceType"] = "MedicationRequest",
            ["id"] = id,
            ["status"] = status,
            ["intent"] = intent,
            ["medicationCodeableConcept"] = medication,
            ["subject"] = new JsonObject { ["reference"] = $"Patient/{PatientId}" },
        };
        if (dosage is not null)
        {
            request["dosageInstruction"] = new JsonArray(dosage);
        }

        return request;
    }
}
