package io.flowmonkey.console;

import static io.flowmonkey.console.ConsoleFixture.SCRIPT;
import static io.flowmonkey.console.ConsoleFixture.TOKEN;
import static io.flowmonkey.console.ConsoleFixture.tenant;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.flowmonkey.execution.Execution;
import io.flowmonkey.execution.ExecutionStatus;
import io.flowmonkey.execution.WorkerHeartbeat.ClaimLateness;
import io.flowmonkey.testing.PostgresExtension;
import java.io.File;
import java.io.IOException;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.openqa.selenium.By;
import org.openqa.selenium.Dimension;
import org.openqa.selenium.NoAlertPresentException;
import org.openqa.selenium.OutputType;
import org.openqa.selenium.TakesScreenshot;
import org.openqa.selenium.WebDriver;
import org.openqa.selenium.chrome.ChromeDriver;
import org.openqa.selenium.chrome.ChromeDriverService;
import org.openqa.selenium.chrome.ChromeOptions;
import org.openqa.selenium.WebElement;
import org.openqa.selenium.support.ui.ExpectedConditions;
import org.openqa.selenium.support.ui.Select;
import org.openqa.selenium.support.ui.WebDriverWait;

/**
 * The console in a real headless Chromium, driven by Selenium through Debian's chromedriver: log in,
 * filter the list, open an execution, cancel it through the confirmation page, see it cancelled; a
 * context holding a script is shown as text and runs nothing. Skipped, loudly, only where
 * /usr/bin/chromium or /usr/bin/chromedriver is missing ({@code apt-get install chromium chromium-driver}).
 * Writes its two screenshots to target/; to docs/ as well where they are not yet (the committed ones).
 */
class AdminConsoleBrowserTest {

    static final Path CHROMIUM = Path.of("/usr/bin/chromium");
    static final Path CHROMEDRIVER = Path.of("/usr/bin/chromedriver");

    @RegisterExtension
    static final PostgresExtension PG = new PostgresExtension();

    private static ConsoleFixture fx;
    private static AdminConsole console;
    private static WebDriver browser;
    private static Path profile;

    @BeforeAll
    static void start() throws IOException {
        boolean present = Files.isExecutable(CHROMIUM) && Files.isExecutable(CHROMEDRIVER);
        if (!present) {
            System.err.println("""
                    *****************************************************************************
                    * SKIPPING the admin console's browser tests (AdminConsoleBrowserTest):     *
                    * /usr/bin/chromium or /usr/bin/chromedriver is missing. Install them with  *
                    *     apt-get install chromium chromium-driver                              *
                    * The console's JSON API tests (AdminConsoleApiTest) ran regardless.        *
                    *****************************************************************************""");
        }
        Assumptions.assumeTrue(present, "no /usr/bin/chromium or /usr/bin/chromedriver: apt-get install chromium chromium-driver");
        fx = new ConsoleFixture(PG.dataSource());
        console = AdminConsole.builder(fx.engine, fx.store).port(0).token(TOKEN).build().start();
        profile = Files.createTempDirectory("flowmonkey-console-chromium");
        ChromeOptions options = new ChromeOptions();
        options.setBinary(CHROMIUM.toFile());
        options.addArguments("--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                "--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run",
                "--user-data-dir=" + profile, "--window-size=1280,900");
        ChromeDriverService service = new ChromeDriverService.Builder().usingDriverExecutable(CHROMEDRIVER.toFile())
                .usingAnyFreePort().build();
        browser = new ChromeDriver(service, options);
        browser.manage().timeouts().pageLoadTimeout(Duration.ofSeconds(60));
        browser.manage().window().setSize(new Dimension(1280, 900));
    }

    @AfterAll
    static void stop() throws IOException {
        if (browser != null) {
            browser.quit();
        }
        if (console != null) {
            console.close();
        }
        if (profile != null) {
            try (var files = Files.walk(profile)) {
                files.sorted(java.util.Comparator.reverseOrder()).map(Path::toFile).forEach(File::delete);
            }
        }
    }

    private static String url(String path) {
        return console.uri().resolve(path).toString();
    }

    @Test
    void log_in_filter_open_an_execution_and_cancel_it_through_the_confirmation() throws IOException {
        String t = tenant();
        fx.order(t);
        Execution failed = fx.order(t);
        Execution held = fx.held(t);
        fx.held(tenant());

        browser.manage().deleteAllCookies();
        browser.get(url("/"));
        assertThat(browser.getCurrentUrl()).endsWith("/login");
        browser.findElement(By.name("token")).sendKeys(TOKEN);
        clickAndWait(By.id("login"));
        assertThat(browser.findElement(By.tagName("h1")).getText()).isEqualTo("Executions");

        browser.findElement(By.id("f-tenant")).sendKeys(t);
        clickAndWait(By.id("filter"));
        assertThat(browser.findElements(By.cssSelector("#executions tbody tr"))).hasSize(3);
        screenshot("console-list.png");
        new Select(browser.findElement(By.id("f-status"))).selectByValue("waiting");
        clickAndWait(By.id("filter"));
        var rows = browser.findElements(By.cssSelector("#executions tbody tr"));
        assertThat(rows).hasSize(1);
        assertThat(rows.get(0).getText()).contains(held.id()).contains("hold-flow@1").contains("waiting");

        clickAndWait(By.linkText(held.id()));
        assertThat(browser.findElement(By.id("context")).getText()).contains(SCRIPT);
        assertThat(browser.findElement(By.id("diagnosis")).getText()).startsWith("waiting for signal 'approval' since ");
        assertNoAlertAndNoScript();

        browser.findElement(By.name("reason")).sendKeys("cancelled in the browser test");
        clickAndWait(By.id("action-cancel"));
        assertThat(browser.findElement(By.tagName("h1")).getText()).isEqualTo("Confirm: cancel");
        assertThat(fx.store.load(held.id()).orElseThrow().status()).isEqualTo(ExecutionStatus.WAITING);
        clickAndWait(By.id("confirm"));

        assertThat(browser.findElement(By.id("done")).getText()).contains("now cancelled");
        assertThat(browser.findElement(By.cssSelector(".st-cancelled")).getText()).isEqualTo("cancelled");
        assertThat(fx.store.load(held.id()).orElseThrow().cancellation().reason()).isEqualTo("cancelled in the browser test");

        browser.get(url("/executions/" + failed.id()));
        assertThat(browser.findElement(By.id("stack")).getText()).contains("card declined by the test bank");
        screenshot("console-execution.png");
    }

    @Test
    void a_context_holding_a_script_is_shown_as_text_and_does_not_run() {
        String t = tenant();
        Execution odd = fx.saved(t + "-x", "fl\"ow'<b>x</b>", t, ExecutionStatus.PENDING, null,
                Map.of("note", SCRIPT, "img", "<img src=x onerror=alert(2)>"));
        login();
        browser.get(url("/?tenant=" + t));
        assertThat(browser.findElement(By.cssSelector("#executions tbody tr")).getText()).contains("fl\"ow'<b>x</b>@1");
        assertNoAlertAndNoScript();
        browser.get(url("/executions/" + odd.id()));
        assertThat(browser.findElement(By.id("context")).getText()).contains(SCRIPT).contains("<img src=x onerror=alert(2)>");
        assertThat(browser.findElements(By.tagName("img"))).isEmpty();
        assertThat(browser.findElements(By.tagName("b"))).isEmpty();
        assertNoAlertAndNoScript();
    }

    @Test
    void the_workers_page_lists_a_live_worker_escaped_and_the_charts_render_as_svg() {
        String id = "b-" + SCRIPT;
        Instant minute = Instant.ofEpochMilli(System.currentTimeMillis() / 60_000 * 60_000);
        fx.store.heartbeat(fx.heartbeat(id, "fl" + SCRIPT, List.of(new ClaimLateness(minute, 2, 50, 50))));
        try {
            login();
            browser.get(url("/workers"));
            assertThat(browser.findElement(By.tagName("h1")).getText()).isEqualTo("Workers");
            assertThat(browser.findElements(By.cssSelector("#workers tbody tr")))
                    .anySatisfy(row -> assertThat(row.getText()).contains(id).contains("fl" + SCRIPT + "@1")
                            .contains("50 ms"));
            assertNoAlertAndNoScript();

            browser.get(url("/charts"));
            WebElement throughput = browser.findElement(By.id("chart-throughput"));
            assertThat(throughput.isDisplayed()).isTrue();
            assertThat(throughput.getSize().getWidth()).isGreaterThan(600);
            assertThat(browser.findElements(By.cssSelector("#chart-lateness rect"))).hasSize(60);
            assertNoAlertAndNoScript();
        } finally {
            fx.store.remove(id);
        }
    }

    /** Clicks what submits a form or follows a link, and waits until the next page replaced this one. */
    private static void clickAndWait(By by) {
        WebElement page = browser.findElement(By.tagName("html"));
        browser.findElement(by).click();
        new WebDriverWait(browser, Duration.ofSeconds(30)).until(ExpectedConditions.stalenessOf(page));
    }

    private static void login() {
        browser.get(url("/login"));
        browser.findElement(By.name("token")).sendKeys(TOKEN);
        clickAndWait(By.id("login"));
    }

    private static void assertNoAlertAndNoScript() {
        assertThatThrownBy(() -> browser.switchTo().alert()).isInstanceOf(NoAlertPresentException.class);
        assertThat(browser.findElements(By.tagName("script"))).isEmpty();
    }

    /** Always to target/; to docs/ only while the committed copy is absent, so later runs leave the tree clean. */
    private static void screenshot(String name) throws IOException {
        byte[] png = ((TakesScreenshot) browser).getScreenshotAs(OutputType.BYTES);
        Path target = Path.of("target", name);
        Files.createDirectories(target.getParent());
        Files.write(target, png);
        Path docs = Path.of("docs", name);
        if (!Files.exists(docs)) {
            Files.write(docs, png);
        }
    }
}
