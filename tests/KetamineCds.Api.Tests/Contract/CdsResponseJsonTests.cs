using System.Collections;
using System.Reflection;
using System.Runtime.CompilerServices;
using System.Text;
using System.Text.Json;
using KetamineCds.Api.CdsHooks;
using KetamineCds.Api.Tests.Support;
using Microsoft.Extensions.DependencyInjection;

namespace KetamineCds.Api.Tests.Contract;

/// <summary>
/// The hook answer is written by <see cref="CdsResponseJson"/> (issue 8 item 1: no reflection serializer per call); an
/// EHR must get exactly the bytes <c>JsonSerializer</c> with <see cref="CdsJson.Options"/> wrote before: on every
/// scenario's cards, and on instances of every wire type with every member set, and with every optional member empty.
/// </summary>
public sealed class CdsResponseJsonTests : IDisposable
{
    private readonly CdsApplication _app = CdsApplication.With(new Dictionary<string, string?> { ["KetamineCds:Security:PublicBaseUrl"] = "https://cds.example.org/" });

    public static TheoryData<string> AllScenarioNames() => new(CardScenarios.All().Select(s => s.Name));

    [Theory]
    [MemberData(nameof(AllScenarioNames))]
    public async Task Every_scenario_answer_is_written_byte_for_byte_as_the_serializer_wrote_it(string name)
    {
        var (_, serviceId, request) = CardScenarios.All().Single(s => s.Name == name);
        using var document = JsonDocument.Parse(request.ToJsonString());
        var pipeline = _app.Services.GetRequiredService<HookPipeline>();
        var outcome = await pipeline.RunAsync(CdsServiceCatalog.Find(serviceId)!, document.RootElement, CancellationToken.None);
        Assert.NotNull(outcome.Response);
        Assert.NotEmpty(outcome.Response.Cards);
        AssertSameBytes(outcome.Response);
    }

    [Fact]
    public void A_card_with_every_member_set_is_written_as_the_serializer_writes_it() =>
        AssertSameBytes(new CdsServiceResponse([Filled<Card>(full: true), Filled<Card>(full: true)]));

    [Fact]
    public void A_card_with_every_optional_member_empty_is_written_as_the_serializer_writes_it() =>
        AssertSameBytes(new CdsServiceResponse([Filled<Card>(full: false)]));

    [Fact]
    public void An_answer_with_no_cards_still_carries_an_empty_cards_array()
    {
        AssertSameBytes(new CdsServiceResponse([]));
        Assert.Equal("{\"cards\":[]}", Encoding.UTF8.GetString(CdsResponseJson.ToUtf8Bytes(new CdsServiceResponse([]))));
    }

    [Fact]
    public async Task The_hook_answers_with_the_json_content_type_it_answered_with_before()
    {
        var (_, serviceId, request) = CardScenarios.All().First();
        using var response = await ScenarioFiles.PostAsync(_app.CreateClient(), serviceId, request);
        Assert.Equal("application/json; charset=utf-8", response.Content.Headers.ContentType?.ToString());
        var cards = await ScenarioFiles.CardsAsync(response);
        Assert.NotEmpty(cards);
    }

    public void Dispose() => _app.Dispose();

    private static void AssertSameBytes(CdsServiceResponse response)
    {
        var expected = Encoding.UTF8.GetString(JsonSerializer.SerializeToUtf8Bytes(response, CdsJson.Options));
        var actual = Encoding.UTF8.GetString(CdsResponseJson.ToUtf8Bytes(response));
        Assert.Equal(expected, actual);
    }

    /// <summary>
    /// An instance of a wire type with every property set (full) or every nullable/collection property null or empty
    /// and every string empty (not full), built by reflection so that a property added to Contract.cs is covered here
    /// without editing this test. Strings carry characters the encoder escapes.
    /// </summary>
    private static T Filled<T>(bool full) => (T)Fill(typeof(T), full, 0);

    private static object Fill(Type type, bool full, int depth)
    {
        var instance = RuntimeHelpers.GetUninitializedObject(type);
        var n = 0;
        foreach (var property in type.GetProperties(BindingFlags.Public | BindingFlags.Instance).Where(p => p.CanWrite))
        {
            property.SetValue(instance, Value(property.PropertyType, property.Name, full, depth, n++));
        }

        return instance;
    }

    private static object? Value(Type type, string name, bool full, int depth, int n)
    {
        var underlying = Nullable.GetUnderlyingType(type);
        if (underlying is not null)
        {
            return full ? Value(underlying, name, full, depth, n) : null;
        }

        if (type == typeof(string))
        {
            return full ? $"{name} <b>\"'&+ é\u2014\n{n}" : "";
        }

        if (type == typeof(decimal))
        {
            return 12.500m + n;
        }

        if (type == typeof(int))
        {
            return 3 + n;
        }

        if (type == typeof(bool))
        {
            return n % 2 == 0;
        }

        if (type == typeof(DateTimeOffset))
        {
            return new DateTimeOffset(2026, 11, 27, 8, 30, 15, 123, TimeSpan.FromHours(-5)).AddDays(n);
        }

        if (type.IsGenericType && type.GetGenericTypeDefinition() == typeof(IReadOnlyList<>))
        {
            var element = type.GetGenericArguments()[0];
            var list = (IList)Activator.CreateInstance(typeof(List<>).MakeGenericType(element))!;
            if (full)
            {
                list.Add(Value(element, name, full, depth + 1, n));
                list.Add(element == typeof(string) ? "" : Value(element, name, full, depth + 1, n + 1));
            }

            return list;
        }

        if (type.IsClass && type.Namespace == typeof(Card).Namespace)
        {
            return full || depth == 0 ? Fill(type, full, depth + 1) : null;
        }

        throw new InvalidOperationException($"No test value for {type} ({name}): extend the filler and CdsResponseJson.");
    }
}
