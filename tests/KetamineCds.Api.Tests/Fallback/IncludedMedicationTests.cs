using System.Text.Json.Nodes;

namespace KetamineCds.Api.Tests.Fallback;

/// <summary>
/// An EHR that orders by product sends a MedicationRequest with only a <c>medicationReference</c> and the Medication it
/// points to as a search include (<c>_include=MedicationRequest:medication</c>), on the same page or on another. The
/// Medications must reach the reader whether they come from the FHIR server or from a paged prefetch completed there:
/// without them the order names nothing, and a benzodiazepine the cards must count is only counted as unreadable.
/// </summary>
[Collection(FallbackHostCollection.Name)]
public sealed class IncludedMedicationTests(FallbackHostFixture host)
{
    // Patient 08 (Table 2) takes clonazepam 1 mg/day (2 mg lorazepam equivalents/day by the primary table, 4 by the
    // alternate: borderline). The order below adds lorazepam 2 mg three times a day: 8 mg/day by the primary table.
    private const int Patient = 8;
    private const string PatientId = "table2-patient-08";

    private static JsonObject LorazepamOrder() => new()
    {
        ["fullUrl"] = "https://ehr.example.org/fhir/MedicationRequest/mr-08-lorazepam",
        ["resource"] = new JsonObject
        {
            ["resourceType"] = "MedicationRequest",
            ["id"] = "mr-08-lorazepam",
            ["status"] = "active",
            ["intent"] = "order",
            // No display: what the order is lives only in the referenced Medication.
            ["medicationReference"] = new JsonObject { ["reference"] = "Medication/epic-erx-lorazepam-1mg" },
            ["subject"] = new JsonObject { ["reference"] = $"Patient/{PatientId}" },
            ["authoredOn"] = "2021-05-20",
            ["dosageInstruction"] = new JsonArray(new JsonObject
            {
                ["text"] = "Take 2 tablets (2 mg total) by mouth 3 (three) times daily.",
                ["timing"] = new JsonObject { ["repeat"] = new JsonObject { ["frequency"] = 3, ["period"] = 1, ["periodUnit"] = "d" } },
                ["doseAndRate"] = new JsonArray(new JsonObject
                {
                    ["doseQuantity"] = new JsonObject { ["value"] = 2, ["unit"] = "mg", ["system"] = "http://unitsofmeasure.org", ["code"] = "mg" },
                }),
            }),
        },
        ["search"] = new JsonObject { ["mode"] = "match" },
    };

    private static JsonObject LorazepamMedication() => new()
    {
        ["fullUrl"] = "https://ehr.example.org/fhir/Medication/epic-erx-lorazepam-1mg",
        ["resource"] = new JsonObject
        {
            ["resourceType"] = "Medication",
            ["id"] = "epic-erx-lorazepam-1mg",
            ["code"] = new JsonObject
            {
                ["coding"] = new JsonArray(new JsonObject
                {
                    ["system"] = "http://www.nlm.nih.gov/research/umls/rxnorm",
                    ["code"] = "197901",
                    ["display"] = "lorazepam 1 MG Oral Tablet",
                }),
                ["text"] = "LORazepam 1 MG tablet",
            },
        },
        ["search"] = new JsonObject { ["mode"] = "include" },
    };

    private static JsonObject SearchSet(IEnumerable<JsonObject> entries, string? next = null)
    {
        var bundle = new JsonObject { ["resourceType"] = "Bundle", ["type"] = "searchset", ["entry"] = new JsonArray([.. entries]) };
        if (next is not null)
        {
            bundle["link"] = new JsonArray(new JsonObject { ["relation"] = "next", ["url"] = next });
        }

        return bundle;
    }

    [Fact]
    public async Task A_Medication_included_on_the_same_page_names_the_order_it_is_referenced_by()
    {
        var ehr = host.Lease(Table2.Ehr(Patient, r => r.Path.EndsWith("/MedicationRequest", StringComparison.Ordinal)
            ? ScriptedReply.Json(SearchSet([LorazepamOrder(), LorazepamMedication()]).ToJsonString())
            : null));

        var answer = await host.PostAsync(Table2.WithoutPrefetch(Patient, ehr.BaseUrl));

        AssertLorazepamCounted(answer);
        Assert.Contains(ehr.Requests, r => r.Path.EndsWith("/MedicationRequest", StringComparison.Ordinal)
                                           && Uri.UnescapeDataString(r.Target).Contains("_include=MedicationRequest:medication", StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_Medication_included_on_a_later_page_names_the_order_on_an_earlier_one()
    {
        ScriptedHttpServer? ehr = null;
        ehr = host.Lease(Table2.Ehr(Patient, r =>
        {
            if (!r.Path.EndsWith("/MedicationRequest", StringComparison.Ordinal))
            {
                return null;
            }

            return r.Target.Contains("page=2", StringComparison.Ordinal)
                ? ScriptedReply.Json(SearchSet([LorazepamMedication()]).ToJsonString())
                : ScriptedReply.Json(SearchSet([LorazepamOrder()], $"{ehr!.BaseUrl}/MedicationRequest?patient={PatientId}&page=2").ToJsonString());
        }));

        var answer = await host.PostAsync(Table2.WithoutPrefetch(Patient, ehr.BaseUrl));

        AssertLorazepamCounted(answer);
        Assert.Equal(2, ehr.Requests.Count(r => r.Path.EndsWith("/MedicationRequest", StringComparison.Ordinal)));
    }

    [Fact]
    public async Task A_Medication_included_on_a_paged_prefetch_page_is_kept_when_the_server_supplies_the_rest()
    {
        ScriptedHttpServer? ehr = null;
        ehr = host.Lease(Table2.Ehr(Patient, r => r.Path.EndsWith("/MedicationRequest", StringComparison.Ordinal)
            ? ScriptedReply.Json(SearchSet([]).ToJsonString())
            : null));
        var request = Table2.Request(Patient);
        request["fhirServer"] = ehr.BaseUrl.ToString();
        request["fhirAuthorization"] = Table2.WithoutPrefetch(Patient, ehr.BaseUrl)["fhirAuthorization"]!.DeepClone();
        request["prefetch"]!["medicationRequests"] = SearchSet([LorazepamOrder(), LorazepamMedication()], $"{ehr.BaseUrl}/MedicationRequest?patient={PatientId}&page=2");

        var answer = await host.PostAsync(request);

        AssertLorazepamCounted(answer);
        var fetched = Assert.Single(ehr.Requests);
        Assert.Contains("page=2", fetched.Target, StringComparison.Ordinal);
    }

    private void AssertLorazepamCounted(HookAnswer answer)
    {
        Assert.True(answer.Status == 200, $"{answer.Status}: {answer.Body}{Environment.NewLine}{host.Logs.Tail()}");
        var cards = JsonNode.Parse(answer.Body)!["cards"]!.AsArray();
        var benzodiazepines = cards.Single(c => ((string)c!["extension"]!["ketaminecds"]!["finding"]!).StartsWith("benzodiazepine-", StringComparison.Ordinal))!;
        var facts = benzodiazepines["extension"]!["ketaminecds"]!;
        Assert.Equal("benzodiazepine-threshold", (string)facts["finding"]!);
        // 2 mg three times a day = 6 mg lorazepam, plus clonazepam 1 mg/day = 2 mg lorazepam equivalents (primary table).
        Assert.Equal(8m, (decimal)facts["lorazepamEquivalentMgPerDay"]!);
        Assert.Null(facts["unreadableResources"]);
        Assert.Contains("lorazepam", benzodiazepines["detail"]!.ToString(), StringComparison.OrdinalIgnoreCase);
    }
}
