using System.Text;
using System.Text.Json;
using Hl7.Fhir.Model;
using KetamineCds.Fhir;

namespace KetamineCds.Tests.Pipeline;

/// <summary>
/// FhirJson.ReadTolerant reads bytes it has already read clean without Firely's attribute validation (issue 8 item 1).
/// That is only sound if the second read gives the same resource and the same verdict as the first: checked here for
/// every resource of every scenario (Table 2 and the EHR-style charts), and for resources with format errors, which
/// must be reported on every read, never remembered as clean.
/// </summary>
public sealed class CleanReadTests
{
    private static IEnumerable<(string File, JsonElement Resource)> ScenarioResources(JsonDocument doc, string file)
    {
        if (doc.RootElement.TryGetProperty("prefetch", out var prefetch) && prefetch.ValueKind == JsonValueKind.Object)
        {
            foreach (var key in prefetch.EnumerateObject())
            {
                if (key.Value.ValueKind == JsonValueKind.Object && key.Value.TryGetProperty("entry", out var entries) && entries.ValueKind == JsonValueKind.Array)
                {
                    foreach (var entry in entries.EnumerateArray())
                    {
                        if (entry.ValueKind == JsonValueKind.Object && entry.TryGetProperty("resource", out var resource))
                        {
                            yield return (file, resource);
                        }
                    }
                }
            }
        }
    }

    [Fact]
    public void Every_scenario_resource_read_again_is_the_same_resource_with_the_same_verdict()
    {
        var folder = Path.Combine(AppContext.BaseDirectory, "scenarios");
        var compared = 0;
        foreach (var file in Directory.EnumerateFiles(folder, "*.json", SearchOption.AllDirectories))
        {
            JsonDocument doc;
            try
            {
                doc = JsonDocument.Parse(File.ReadAllBytes(file));
            }
            catch (JsonException)
            {
                continue; // a deliberately broken fixture
            }

            using (doc)
            {
                foreach (var (name, resource) in ScenarioResources(doc, file))
                {
                    var first = FhirJson.ReadTolerant(resource, out var firstError);
                    var second = FhirJson.ReadTolerant(resource, out var secondError);
                    Assert.Equal(firstError, secondError);
                    Assert.Equal(first is null, second is null);
                    if (first is not null)
                    {
                        Assert.True(FhirJson.Serialize(first) == FhirJson.Serialize(second!), $"{name}: {first.TypeName}/{first.Id} differs on the second read");
                        Assert.Equal(FhirJson.ContentKey(first), FhirJson.ContentKey(second!));
                    }

                    compared++;
                }
            }
        }

        Assert.True(compared > 100, $"only {compared} scenario resources compared");
    }

    public static TheoryData<string, string> FormatErrors => new()
    {
        { "a date that is not a date", """{"resourceType":"MedicationStatement","id":"a","status":"active","medicationCodeableConcept":{"text":"clonazepam"},"subject":{"reference":"Patient/p"},"dateAsserted":"yesterday"}""" },
        { "an id with a space", """{"resourceType":"MedicationStatement","id":"a b","status":"active","medicationCodeableConcept":{"text":"clonazepam"},"subject":{"reference":"Patient/p"}}""" },
        { "a code with leading blanks", """{"resourceType":"Observation","id":"o","status":"final","code":{"coding":[{"system":"http://loinc.org","code":"  8867-4"}]},"valueInteger":3}""" },
    };

    [Theory]
    [MemberData(nameof(FormatErrors))]
    public void A_resource_with_a_format_error_is_reported_on_every_read(string what, string json)
    {
        using var doc = JsonDocument.Parse(Encoding.UTF8.GetBytes(json));
        for (var read = 1; read <= 3; read++)
        {
            var resource = FhirJson.ReadTolerant(doc.RootElement, out var error);
            Assert.True(resource is not null, $"{what}: read {read} gave nothing");
            Assert.True(error is not null, $"{what}: read {read} reported no format error");
        }
    }

    [Fact]
    public void Resources_that_differ_in_one_byte_have_different_content_keys()
    {
        using var one = JsonDocument.Parse("""{"resourceType":"Observation","id":"o","status":"final","code":{"text":"x"},"valueInteger":3}""");
        using var other = JsonDocument.Parse("""{"resourceType":"Observation","id":"o","status":"final","code":{"text":"x"},"valueInteger":4}""");
        var a = FhirJson.ReadTolerant(one.RootElement, out _)!;
        var b = FhirJson.ReadTolerant(other.RootElement, out _)!;
        Assert.NotNull(FhirJson.ContentKey(a));
        Assert.NotEqual(FhirJson.ContentKey(a), FhirJson.ContentKey(b));
        Assert.Null(FhirJson.ContentKey(new Observation()));
    }
}
