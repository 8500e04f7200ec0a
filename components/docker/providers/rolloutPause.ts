import * as pulumi from "@pulumi/pulumi";

export interface RolloutPauseInputs {
    /** The release moving over the hosts: the pause is taken once per release. */
    release: string;
    seconds: number;
}

const pause = (seconds: number) => new Promise((resolve) => setTimeout(resolve, seconds * 1000));

/** Waits between two rollout batches, once per release; nothing on any engine. */
export const provider: pulumi.dynamic.ResourceProvider = {
    async create(inputs: RolloutPauseInputs) {
        await pause(inputs.seconds);
        return { id: "pause", outs: inputs };
    },
    async diff(_id: string, olds: RolloutPauseInputs, news: RolloutPauseInputs) {
        return { changes: olds.release !== news.release || olds.seconds !== news.seconds };
    },
    async update(_id: string, olds: RolloutPauseInputs, news: RolloutPauseInputs) {
        if (olds.release !== news.release) await pause(news.seconds);
        return { outs: news };
    },
    async read(id: string, props: RolloutPauseInputs) {
        return { id, props };
    },
    async delete() {},
};
