package dev.gemmaflink.runtime.vision;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.List;
import org.junit.jupiter.api.Test;

class PanAndScanTest {
    private static final PanAndScanOptions ON = PanAndScanOptions.DEFAULTS_ENABLED;

    @Test
    void disabledOrNearlySquareGivesNoCrops() {
        assertThat(PanAndScan.crops(2000, 500, PanAndScanOptions.DISABLED)).isEmpty();
        assertThat(PanAndScan.crops(1000, 1000, ON)).isEmpty();
        assertThat(PanAndScan.crops(1199, 1000, ON)).isEmpty(); // ratio 1.199 < 1.2
        assertThat(PanAndScan.crops(1000, 1199, ON)).isEmpty();
    }

    @Test
    void landscapeAtTheActivationRatioGetsTwoCrops() {
        // 1200/1000 = 1.2 -> floor(1.7) = 1 -> clamped up to 2; windows 600 wide
        assertThat(PanAndScan.crops(1200, 1000, ON))
                .containsExactly(new CropBox(0, 0, 600, 1000), new CropBox(600, 0, 600, 1000));
    }

    @Test
    void wideLandscapeIsLimitedByMaxCropsAndTheLastWindowIsClipped() {
        // 3000/500 = 6 -> floor(6.5) = 6, floor(3000/256) = 11 -> 6 -> clamped to 4; ceil(3000/4) = 750
        assertThat(PanAndScan.crops(3000, 500, ON)).containsExactly(new CropBox(0, 0, 750, 500),
                new CropBox(750, 0, 750, 500), new CropBox(1500, 0, 750, 500), new CropBox(2250, 0, 750, 500));
        // 1001/333 = 3.006 -> 3 crops of ceil(1001/3) = 334; the last is 333 wide
        assertThat(PanAndScan.crops(1001, 333, ON)).containsExactly(new CropBox(0, 0, 334, 333),
                new CropBox(334, 0, 334, 333), new CropBox(668, 0, 333, 333));
    }

    @Test
    void portraitIsSymmetric() {
        List<CropBox> crops = PanAndScan.crops(400, 1300, ON); // 3.25 -> 3, floor(1300/256) = 5 -> 3
        assertThat(crops).containsExactly(new CropBox(0, 0, 400, 434), new CropBox(0, 434, 400, 434),
                new CropBox(0, 868, 400, 432));
    }

    @Test
    void abortsWhenACropWouldBeSmallerThanTheMinimum() {
        // 600x200: 2 crops of 300x200, smaller side 200 < 256 -> none
        assertThat(PanAndScan.crops(600, 200, ON)).isEmpty();
        // 500x300: ratio 1.67 -> 2, but floor(500/256) = 1 -> clamped to 2 -> 250 wide < 256 -> none
        assertThat(PanAndScan.crops(500, 300, ON)).isEmpty();
        // a smaller minimum lets them through: floor(600/128) = 4 no longer limits the 3 by ratio
        assertThat(PanAndScan.crops(600, 200, new PanAndScanOptions(true, 128, 4, 1.2))).hasSize(3);
    }

    @Test
    void optionsAreConfigurable() {
        PanAndScanOptions two = new PanAndScanOptions(true, 256, 2, 1.2);
        assertThat(PanAndScan.crops(3000, 500, two)).hasSize(2);
        PanAndScanOptions lazy = new PanAndScanOptions(true, 256, 4, 3.0);
        assertThat(PanAndScan.crops(2000, 1000, lazy)).isEmpty();
        assertThat(PanAndScan.crops(2000, 1000, ON)).hasSize(2);
        assertThat(ON.withEnabled(false).enabled()).isFalse();
        assertThatThrownBy(() -> new PanAndScanOptions(true, 256, 1, 1.2)).hasMessageContaining("maxCrops");
        assertThatThrownBy(() -> new PanAndScanOptions(true, 0, 4, 1.2)).hasMessageContaining("minCropSize");
        assertThatThrownBy(() -> new PanAndScanOptions(true, 256, 4, 0.5)).hasMessageContaining("minRatioToActivate");
    }
}
