using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json.Nodes;
using KetamineCds.Api.Tests.Support;

namespace KetamineCds.Api.Tests.Scenarios;

/// <summary>Bad input gets a clear OperationOutcome with the right status; never a 500 or a stack trace.</summary>
public sealed class ErrorPathTests(CdsApplication app) : IClassFixture<CdsApplication>
{
    private static JsonObject Sign() => ScenarioFiles.Load("table2/patient-13/request.json");

    private static JsonObject Select()
    {
        var request = Sign();
        request["hook"] = "order-select";
        var orderId = (string)request["context"]!["draftOrders"]!["entry"]![0]!["resource"]!["id"]!;
        request["context"]!["selections"] = new JsonArray($"MedicationRequest/{orderId}");
        return request;
    }

    private static JsonObject View()
    {
        var request = Sign();
        request["hook"] = "patient-view";
        request["context"]!.AsObject().Remove("draftOrders");
        return request;
    }

    private async Task<(HttpStatusCode Status, string Message)> Post(string service, string body, string contentType = "application/json")
    {
        var content = new StringContent(body, Encoding.UTF8);
        content.Headers.ContentType = MediaTypeHeaderValue.Parse(contentType);
        var response = await app.CreateClient().PostAsync($"/cds-services/{service}", content);
        var message = await ScenarioFiles.OutcomeAsync(response);
        Assert.DoesNotContain("   at ", message, StringComparison.Ordinal);
        return (response.StatusCode, message);
    }

    private Task<(HttpStatusCode Status, string Message)> Post(string service, JsonNode body) => Post(service, body.ToJsonString());

    private static JsonObject Without(JsonObject request, string path)
    {
        var parts = path.Split('.');
        var parent = parts[..^1].Aggregate((JsonNode)request, (node, part) => node[part]!);
        parent.AsObject().Remove(parts[^1]);
        return request;
    }

    [Theory]
    [InlineData("{\"hook\": ")]
    [InlineData("not json at all")]
    [InlineData("")]
    public async Task Malformed_json_is_400(string body)
    {
        var (status, message) = await Post("ketamine-order-sign", body);
        Assert.Equal(HttpStatusCode.BadRequest, status);
        Assert.Contains("not valid JSON", message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("[]")]
    [InlineData("42")]
    [InlineData("\"order-sign\"")]
    [InlineData("null")]
    public async Task A_body_that_is_not_an_object_is_400(string body)
    {
        var (status, message) = await Post("ketamine-order-sign", body);
        Assert.Equal(HttpStatusCode.BadRequest, status);
        Assert.Contains("JSON object", message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("hook")]
    [InlineData("hookInstance")]
    [InlineData("context")]
    [InlineData("context.patientId")]
    [InlineData("context.userId")]
    [InlineData("context.draftOrders")]
    public async Task Order_sign_missing_a_required_field_is_400_naming_it(string field)
    {
        var (status, message) = await Post("ketamine-order-sign", Without(Sign(), field));
        Assert.Equal(HttpStatusCode.BadRequest, status);
        Assert.Contains(field.Split('.')[^1], message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("context.selections")]
    [InlineData("context.draftOrders")]
    public async Task Order_select_missing_a_required_field_is_400(string field)
    {
        var (status, message) = await Post("ketamine-order-select", Without(Select(), field));
        Assert.Equal(HttpStatusCode.BadRequest, status);
        Assert.Contains(field.Split('.')[^1], message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Patient_view_missing_patientId_is_400()
    {
        var (status, _) = await Post("ketamine-patient-view", Without(View(), "context.patientId"));
        Assert.Equal(HttpStatusCode.BadRequest, status);
    }

    [Fact]
    public async Task Wrong_field_types_are_400()
    {
        var request = Sign();
        request["context"]!["patientId"] = 42;
        Assert.Equal(HttpStatusCode.BadRequest, (await Post("ketamine-order-sign", request)).Status);

        request = Sign();
        request["context"]!["draftOrders"] = "MedicationRequest/1";
        Assert.Equal(HttpStatusCode.BadRequest, (await Post("ketamine-order-sign", request)).Status);

        request = Select();
        request["context"]!["selections"] = new JsonArray(1, 2);
        Assert.Equal(HttpStatusCode.BadRequest, (await Post("ketamine-order-select", request)).Status);

        request = Sign();
        request["prefetch"] = "everything";
        Assert.Equal(HttpStatusCode.BadRequest, (await Post("ketamine-order-sign", request)).Status);
    }

    [Fact]
    public async Task A_hook_that_does_not_match_the_service_is_400()
    {
        var (status, message) = await Post("ketamine-patient-view", Sign());
        Assert.Equal(HttpStatusCode.BadRequest, status);
        Assert.Contains("patient-view", message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task FhirAuthorization_without_fhirServer_is_400()
    {
        var request = Sign();
        request["fhirAuthorization"] = new JsonObject { ["access_token"] = "abc", ["token_type"] = "Bearer", ["expires_in"] = 300, ["scope"] = "patient/*.read", ["subject"] = "cds" };
        var (status, message) = await Post("ketamine-order-sign", request);
        Assert.Equal(HttpStatusCode.BadRequest, status);
        Assert.Contains("fhirServer", message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_non_http_fhirServer_is_400()
    {
        var request = Sign();
        request["fhirServer"] = "file:///etc/passwd";
        Assert.Equal(HttpStatusCode.BadRequest, (await Post("ketamine-order-sign", request)).Status);
    }

    [Fact]
    public async Task Unknown_service_is_404()
    {
        var (status, message) = await Post("opioid-mme", Sign());
        Assert.Equal(HttpStatusCode.NotFound, status);
        Assert.Contains("opioid-mme", message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("text/plain")]
    [InlineData("application/xml")]
    [InlineData("application/x-www-form-urlencoded")]
    public async Task Wrong_media_type_is_415(string contentType)
    {
        var (status, _) = await Post("ketamine-order-sign", Sign().ToJsonString(), contentType);
        Assert.Equal(HttpStatusCode.UnsupportedMediaType, status);
    }

    [Fact]
    public async Task Json_with_charset_and_fhir_json_are_accepted()
    {
        var client = app.CreateClient();
        Assert.Equal(HttpStatusCode.OK, (await ScenarioFiles.PostAsync(client, "ketamine-order-sign", Sign(), "application/json; charset=utf-8")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await ScenarioFiles.PostAsync(client, "ketamine-order-sign", Sign(), "application/fhir+json")).StatusCode);
    }

    [Fact]
    public async Task Oversized_body_is_413()
    {
        var request = Sign();
        request["padding"] = new string('x', 5 * 1024 * 1024);
        var (status, _) = await Post("ketamine-order-sign", request);
        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, status);
    }

    [Fact]
    public async Task Oversized_body_without_content_length_is_413()
    {
        var bytes = Encoding.UTF8.GetBytes("{\"padding\":\"" + new string('x', 5 * 1024 * 1024) + "\"}");
        var content = new StreamContent(new MemoryStream(bytes));
        content.Headers.ContentType = MediaTypeHeaderValue.Parse("application/json");
        var request = new HttpRequestMessage(HttpMethod.Post, "/cds-services/ketamine-order-sign") { Content = content };
        request.Headers.TransferEncodingChunked = true;
        var response = await app.CreateClient().SendAsync(request);
        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, response.StatusCode);
    }

    [Fact]
    public async Task Deeply_nested_json_is_400_not_a_stack_overflow()
    {
        var body = "{\"hook\":\"order-sign\",\"x\":" + new string('[', 500) + new string(']', 500) + "}";
        var (status, message) = await Post("ketamine-order-sign", body);
        Assert.Equal(HttpStatusCode.BadRequest, status);
        Assert.Contains("nested", message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("medicationStatements")]
    [InlineData("medicationRequests")]
    public async Task Missing_medication_prefetch_without_a_fhir_server_is_412(string key)
    {
        var (status, message) = await Post("ketamine-order-sign", Without(Sign(), $"prefetch.{key}"));
        Assert.Equal(HttpStatusCode.PreconditionFailed, status);
        Assert.Contains(key, message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task No_prefetch_at_all_is_412()
    {
        var (status, _) = await Post("ketamine-order-sign", Without(Sign(), "prefetch"));
        Assert.Equal(HttpStatusCode.PreconditionFailed, status);
    }

    [Fact]
    public async Task Null_prefetch_key_is_412()
    {
        var request = Sign();
        request["prefetch"]!["medicationStatements"] = null;
        Assert.Equal(HttpStatusCode.PreconditionFailed, (await Post("ketamine-order-sign", request)).Status);
    }

    [Fact]
    public async Task OperationOutcome_prefetch_is_412()
    {
        var request = Sign();
        request["prefetch"]!["medicationStatements"] = new JsonObject
        {
            ["resourceType"] = "OperationOutcome",
            ["issue"] = new JsonArray(new JsonObject { ["severity"] = "error", ["code"] = "timeout" }),
        };
        Assert.Equal(HttpStatusCode.PreconditionFailed, (await Post("ketamine-order-sign", request)).Status);
    }

    [Fact]
    public async Task Paged_prefetch_whose_next_page_cannot_be_fetched_is_412()
    {
        var request = Sign();
        request["prefetch"]!["medicationStatements"]!["link"] = new JsonArray(
            new JsonObject { ["relation"] = "next", ["url"] = "https://ehr.example.org/fhir/MedicationStatement?page=2" });
        Assert.Equal(HttpStatusCode.PreconditionFailed, (await Post("ketamine-order-sign", request)).Status);
    }

    [Fact]
    public async Task Missing_observations_are_not_fatal()
    {
        var response = await ScenarioFiles.PostAsync(app.CreateClient(), "ketamine-order-sign", Without(Sign(), "prefetch.observations"));
        Assert.NotEmpty(await ScenarioFiles.CardsAsync(response));
    }
}
